"""``apply --source`` / ``--identity``: which orders of a saved plan a targeted run runs.

Why apart from ``applying.py``: the selection is pure (a plan's orders and the config
in, order ids out); apply checks the whole plan as usual, then hands the executor only
these ids (``Executor``'s ``only``), which holds a targeted order whose dependency
outside the target is not done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from accesshive.config import Config
from accesshive.config.structure import naming
from accesshive.errors import PlanError
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order


@dataclass(frozen=True)
class Target:
    """``apply --source`` / ``--identity``: a targeted run, of the plan's orders of one
    source and/or one identity. The whole plan is still checked (stale, forged, approvals,
    declines); only these orders run, and one whose dependency is neither done nor
    targeted is held, saying so."""

    source: str | None = None
    identity: str | None = None

    def keeps(self, order: Order) -> bool:
        return (self.source is None or order.change.source == self.source) and (
            self.identity is None or order.change.identity == self.identity
        )

    def details(self) -> dict[str, str]:
        """What the audit log and the report say the run was targeted at."""
        return {
            k: v for k, v in (("source", self.source), ("identity", self.identity)) if v is not None
        }

    def check(self, config: Config, plan: Plan) -> None:
        """A source or identity the repository does not have, or one the plan has no
        order for, is a mistake, not a no-op (a run that does nothing and says
        ``complete``): one line naming what there is, before anything is recorded."""
        known: Mapping[str, object]
        for what, name, known in (
            ("source", self.source, config.sources),
            ("identity", self.identity, config.identities),
        ):
            if name is not None and name not in known:
                raise PlanError(f"apply --{what} {name}: {naming(what, name, known)}")
        if not any(self.keeps(o) for o in plan.orders):
            flags = " ".join(f"--{k} {v}" for k, v in self.details().items())
            raise PlanError(f"apply {flags}: {self._nothing(plan)}; nothing was run")

    def _nothing(self, plan: Plan) -> str:
        """Why no order is targeted, and what there is to target instead."""
        identities = {o.change.identity for o in plan.orders if o.change.identity}
        sources = {o.change.source for o in plan.orders}
        if self.identity is not None and self.identity in identities:
            theirs = {o.change.source for o in plan.orders if o.change.identity == self.identity}
            return (
                f"the plan has no order of identity '{self.identity}' on source "
                f"'{self.source}' (its orders are on {_few(theirs)})"
            )
        what, name, there = (
            ("identity", self.identity, identities)
            if self.identity is not None
            else ("source", str(self.source), sources)
        )
        why = f"the plan has no order for {what} '{name}' (the targets already match it)"
        if not there:
            return why
        plural = "identities" if what == "identity" else "sources"
        return f"{why}; {plural} with orders: {_few(there)}"


def _few(names: Iterable[str]) -> str:
    shown = sorted(set(names))
    more = f" and {len(shown) - 8} more" if len(shown) > 8 else ""
    return ", ".join(shown[:8]) + more
