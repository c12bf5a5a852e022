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
from accesshive.operations.status import Step
from accesshive.plan.kinds import OrderKind
from accesshive.plan.states import SENT, OrderState
from accesshive.store import Store
from accesshive.tasks import task_id

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
                steps.append(
                    _with_its_task(
                        opened, digest, Step(order, known.state, known.at, known.message)
                    )
                )
    return tuple(steps)


def _with_its_task(opened: Store, digest: str, step: Step) -> Step:
    """A manual task's order stays ``transmitted`` (handed over) until an apply verifies
    it; the task says more meanwhile. Done (its owner marked it done, or a sync saw it):
    shown ``verified``, by whom, as the next apply records it. Cancelled since (no longer
    needed): shown as the task is, with why: "transmitted … task for facilities" would
    say the work is still asked for."""
    if step.order.kind != OrderKind.MANUAL_TASK or step.state not in SENT:
        return step
    task = opened.task(task_id(digest, step.order.id))
    if task is not None and task.state == OrderState.VERIFIED:
        at = task.done_at or step.at
        return Step(step.order, OrderState.VERIFIED, at, f"task {task.id} done by {task.done_by}")
    if task is None or task.state != "cancelled":
        return step
    reason = f": {task.reason}" if task.reason else ""
    return Step(step.order, "cancelled", task.done_at, f"task {task.id} cancelled{reason}")
