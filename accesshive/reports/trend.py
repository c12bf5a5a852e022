"""Which earlier report a report's trend compares with, and what it records for the next.

A report says how its totals moved "since the report of <day>". The report it compares
with must be of an earlier snapshot: a report of the same snapshot (``report --no-sync``
re-rendering in another format, as the nightly job does for its HTML, JSON and Markdown,
or the console reading it on every page) would only compare the snapshot with itself
and always say "no change". So each recorded report names the snapshot it was made of
(the latest read of each source: its fingerprint and when it was read; every sync reads
anew) and the report it was compared with; a report of a snapshot already reported is
not recorded again and compares with what the first report of that snapshot did.

Why in the recorded totals: the store keeps one JSON object per report, and what the
comparison needs travels with it; a record made before this (no snapshot named) is of
an earlier snapshot. Pure: the caller reads and writes the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from accesshive.store.base import SnapshotInfo

SNAPSHOT = "snapshot"
"""The key naming the snapshot a recorded report was made of."""
COMPARED_WITH = "compared_with"
"""The key holding the report a recorded report was compared with (``at``, ``totals``)."""

Previous = tuple[str, dict[str, Any]]
"""A recorded report: when it was made, and its totals."""


def snapshot_key(latest: Iterable[SnapshotInfo]) -> str:
    """What tells one snapshot from another: each source's latest read (its fingerprint
    and when it was read), so every sync makes a new snapshot even when nothing moved."""
    digest = hashlib.sha256()
    for info in sorted(latest, key=lambda i: i.source):
        digest.update(f"{info.source}\0{info.fingerprint}\0{info.read_at}\n".encode())
    return digest.hexdigest()[:16]


def _totals(recorded: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in recorded.items() if k not in (SNAPSHOT, COMPARED_WITH)}


def compared_with(latest: Previous | None, snapshot: str) -> tuple[Previous | None, bool]:
    """The report to compare with, given the latest recorded one, and whether the latest
    is of this same snapshot (then this report is a re-rendering: not to be recorded)."""
    if latest is None:
        return None, False
    at, recorded = latest
    if recorded.get(SNAPSHOT) != snapshot:
        return (at, _totals(recorded)), False
    earlier = recorded.get(COMPARED_WITH)
    if not isinstance(earlier, dict) or not isinstance(earlier.get("totals"), dict):
        return None, True
    return (str(earlier.get("at", "")), _totals(earlier["totals"])), True


def record(totals: dict[str, int], snapshot: str, previous: Previous | None) -> dict[str, Any]:
    """What the store keeps of a report: its totals, its snapshot and what it was
    compared with (so a re-rendering of the same snapshot compares as it did)."""
    return {
        **totals,
        SNAPSHOT: snapshot,
        COMPARED_WITH: None if previous is None else {"at": previous[0], "totals": previous[1]},
    }
