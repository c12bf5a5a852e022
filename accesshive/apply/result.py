"""What one apply run did: each order's state and message, per source, and the run's status.

Apart from the executor because everything after a run reads it (the CLI's summary,
notifications, the post-apply refresh, ``status``) and none of those needs the walk.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from accesshive.apply.observed import Observed
from accesshive.plan.model import Plan
from accesshive.plan.states import DONE, FAILED, OrderState
from accesshive.store import Task

if TYPE_CHECKING:
    from accesshive.notify import Outcome

__all__ = ["ApplyResult", "source_status"]


@dataclass
class ApplyResult:
    plan_digest: str
    run_id: int
    states: dict[str, OrderState] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    """source → why its orders were not sent: it could not be read when apply started,
    or it went down during the run (its breaker opened)."""
    notifications: list[Outcome] = field(default_factory=list)
    """What the ``notifications`` policy sent about this run (``notify.Outcome``s)."""
    targeted: dict[str, str] | None = None
    """A targeted run (``apply --source``/``--identity``): what it was targeted at."""
    observed: Observed = field(default_factory=Observed)
    """The accounts the run read back after writing them (``apply/observed.py``)."""
    acted_on: dict[str, str | None] = field(default_factory=dict)
    """Order id → the account it acted on (a create's: the one it created or adopted)."""
    approved: frozenset[str] = frozenset()
    """The gated orders the run's approvals cover: the others still need reviewers."""
    first_reviewers: bool = False
    """This run put a project's first reviewers in force (none were before): approvals
    they signed of this plan count from its next apply."""
    policy_change: str | None = None
    """Why the review policies the change brings were not put in force: what it adds to
    or loosens in those in force waits for their approval (``accesshive/policy_change.py``)."""

    def unapproved(self, plan: Plan) -> list[str]:
        """The gated orders of this run still to be approved: those awaiting approval and
        those blocked below a failure or a decline whose gate nobody approved yet, so
        that one round of approvals suffices once what blocks them is fixed."""
        return sorted(
            order.id
            for order in plan.orders
            if self.states.get(order.id) == OrderState.AWAITING_APPROVAL
            or (
                self.states.get(order.id) == OrderState.BLOCKED
                and order.gate is not None
                and order.id not in self.approved
            )
        )

    @property
    def declined(self) -> dict[str, str]:
        """Order id → who declined it and why, for the orders this run declined."""
        return {
            oid: self.messages.get(oid, "declined")
            for oid, s in sorted(self.states.items())
            if s == OrderState.DECLINED
        }

    def count(self, *states: str) -> int:
        return sum(1 for s in self.states.values() if s in states)

    @property
    def failed(self) -> bool:
        return self.count(*FAILED) > 0

    def by_source(self, plan: Plan) -> dict[str, dict[str, object]]:
        """Per source: how many of its orders are in each state, and whether it was
        unreachable (with its message): what the summary of an apply shows."""
        out: dict[str, dict[str, object]] = {}
        for order in plan.orders:
            state = self.states.get(order.id)
            if state is None:
                continue
            sid = order.change.source
            entry = out.setdefault(sid, {"states": {}, "unreachable": self.unreachable.get(sid)})
            counts = entry["states"]
            assert isinstance(counts, dict)
            counts[str(state)] = counts.get(str(state), 0) + 1
        for entry in out.values():
            counts = entry["states"]
            assert isinstance(counts, dict)
            entry["states"] = dict(sorted(counts.items()))
            entry["status"] = source_status(counts, bool(entry["unreachable"]))
        return dict(sorted(out.items()))

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        if all(s in DONE for s in self.states.values()) and self.policy_change is None:
            return "complete"
        return "incomplete"


def source_status(states: Collection[str], unreachable: bool = False) -> str:
    """A source's status in an apply's summary, from its orders' states: ``failed`` only
    when an order on it failed (``errored``, ``error``); else ``declined`` when a reviewer
    declined one of its orders, ``blocked`` when its orders wait below a failure or a
    decline elsewhere, ``waiting`` when some are still to be done (awaiting approval,
    transmitted manual tasks), ``ok`` when every one is done."""
    if unreachable:
        return "unreachable"
    if any(s in (OrderState.ERRORED, OrderState.ERROR) for s in states):
        return "failed"
    if OrderState.DECLINED in states:
        return "declined"
    if OrderState.BLOCKED in states:
        return "blocked"
    return "ok" if all(s in DONE for s in states) else "waiting"
