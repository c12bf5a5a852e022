"""The contract every cache of the layer states, in one shape.

A cache here is a speed-up around one pure stage function, never a part of it: the
stage computes the same thing with or without it, and the pipeline
(``operations/_common.py``, ``operations/planning.py``, ``pipeline.py``) is what puts the
two together. So that a reader can judge each cache the same way, each module of this
package declares a ``CONTRACT``: the stage function it wraps, what its key covers,
what an entry holds, why a hit gives what the stage would compute, and how entries are
cleared; ARCHITECTURE.md ("Caches") is the same table for people.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Contract:
    name: str
    """As ``accesshive cache info`` names the cache."""
    wraps: str
    """The stage function it wraps (``module: function``), pure without it."""
    key: str
    """What the key of an entry covers: every input the entry's value depends on."""
    covers: str
    """What an entry holds, and which part of the stage's work a hit spares."""
    safe: str
    """Why a hit gives exactly what the stage would compute."""
    cleared: str
    """How entries go: replaced, pruned, or never written."""


def contracts() -> tuple[Contract, ...]:
    """Every cache's contract, in pipeline order (imported on demand: the cache modules
    import the stages they wrap)."""
    from accesshive.cache import check, diff, fingerprints, parse, plans, render, snapshot

    return (
        parse.CONTRACT,
        check.CONTRACT,
        render.CONTRACT,
        snapshot.CONTRACT,
        fingerprints.CONTRACT,
        diff.CONTRACT,
        plans.CONTRACT,
    )
