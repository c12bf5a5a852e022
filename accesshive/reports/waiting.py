"""Which sources an identity waits on, and why: what ``status`` and ``report`` add to
"4 outstanding" so a person sees where to look ("crm unreachable", "on wiki").

Pure: built from an identity's outstanding steps as (source, state, message).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accesshive.plan.states import OrderState

if TYPE_CHECKING:
    from accesshive.operations.status import Step

_S = OrderState

_REASONS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({_S.ERROR, _S.ERRORED}), "failed"),
    (frozenset({_S.DECLINED}), "declined"),
    (frozenset({_S.BLOCKED}), "blocked"),
    (frozenset({_S.AWAITING_APPROVAL}), "awaiting approval"),
    (frozenset({_S.TRANSMITTED, _S.EXECUTED}), "sent"),
)
"""A source's reason is that of its most pressing step, in this order; "unreachable"
(a failure saying the source is down) comes before all, "pending" after all."""


@dataclass(frozen=True)
class Waiting:
    """One source an identity waits on: how many of its steps, and why."""

    source: str
    outstanding: int
    reason: str
    """unreachable, failed, declined, blocked, awaiting approval, sent, or pending."""

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "outstanding": self.outstanding, "reason": self.reason}

    def __str__(self) -> str:
        return self.source if self.reason == "pending" else f"{self.source} {self.reason}"


def of_steps(steps: Iterable[Step]) -> tuple[Waiting, ...]:
    """``waiting_on`` for the outstanding steps of an identity's status."""
    return waiting_on((s.order.change.source, s.state, s.message) for s in steps)


def waiting_on(steps: Iterable[tuple[str, str, str | None]]) -> tuple[Waiting, ...]:
    """The sources of these outstanding steps ``(source, state, message)``, by name."""
    by_source: dict[str, list[tuple[str, str | None]]] = {}
    for source, state, message in steps:
        by_source.setdefault(source, []).append((state, message))
    return tuple(
        Waiting(source, len(found), _reason(source, found))
        for source, found in sorted(by_source.items())
    )


def _reason(source: str, steps: list[tuple[str, str | None]]) -> str:
    # apply's words for a source down: found so before the run (it could not be read), or
    # during it (apply/outage.py)
    down = (f"{source} is unreachable", f"could not read {source} to check the plan")
    if any(
        state in (_S.ERROR, _S.ERRORED) and any(d in (m or "") for d in down) for state, m in steps
    ):
        return "unreachable"
    states = {state for state, _ in steps}
    return next((word for group, word in _REASONS if states & group), "pending")


def describe(waiting: tuple[Waiting, ...]) -> str:
    """What follows "4 outstanding": `` on wiki`` when every source is only pending, else
    ``: crm unreachable, wiki``."""
    if all(w.reason == "pending" for w in waiting):
        return " on " + ", ".join(w.source for w in waiting)
    return ": " + ", ".join(str(w) for w in waiting)
