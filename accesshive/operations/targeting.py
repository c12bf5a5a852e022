"""``apply --source`` / ``--identity``: which orders of a saved plan a targeted run runs.

Why apart from ``applying.py``: the selection is pure (a plan's orders and the config
in, order ids out); apply checks the whole plan as usual, then hands the executor only
these ids (``Executor``'s ``only``), which holds a targeted order whose dependency
outside the target is not done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from accesshive.config import Config
from accesshive.config.structure import suggest
from accesshive.errors import PlanError
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

    def check(self, config: Config) -> None:
        """A source or identity the repository does not have is a mistake, not a no-op."""
        known: Mapping[str, object]
        for what, name, known in (
            ("source", self.source, config.sources),
            ("identity", self.identity, config.identities),
        ):
            if name is not None and name not in known:
                guess = suggest(name, known)
                hint = f"; did you mean '{guess}'?" if guess else ""
                raise PlanError(
                    f"apply --{what} {name}: no {what} '{name}' in the configuration{hint}"
                )
