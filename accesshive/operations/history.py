"""What was done for one identity: the steps of the earlier runs that touched it.

Why apart from ``identity_status``: an identity whose targets match its desired state
has no step left in its current flow, yet the detail a person opens (``status
--identity``, the console's page) must still say what provisioned it, when, and with
which order. That history is in the plans the runs applied; reading them is a cost
paid for one identity at a time, never for the list.
"""

from __future__ import annotations

from pathlib import Path

from accesshive.operations._common import StoreRef, stored_plan
from accesshive.operations.applying import Step

RUNS_READ = 50
"""How many of the latest runs are searched (their plans are read whole)."""


def identity_history(root: Path, store: StoreRef, identity: str) -> tuple[Step, ...]:
    """The latest outcome of each order of ``identity`` that a run recorded, newest run
    first, in each plan's dependency order; empty when nothing was ever applied."""
    if not store.exists(root):
        return ()
    with store.open(root) as opened:
        outcomes = opened.latest_outcomes()
        runs = opened.runs()[-RUNS_READ:]
        seen: set[str] = set()
        steps: list[Step] = []
        read: set[str] = set()
        for run in reversed(runs):
            digest = str(run["plan_digest"])
            if digest in read:
                continue
            read.add(digest)
            plan = stored_plan(opened, digest)
            if plan is None:
                continue
            for order in plan.orders:
                if order.change.identity != identity or order.id in seen:
                    continue
                known = outcomes.get(order.id)
                if known is None:
                    continue
                seen.add(order.id)
                steps.append(Step(order, known.state, known.at, known.message))
    return tuple(steps)
