"""The provisioning status of each identity (``accesshive status``, the console, the
report's waiting-on column): its current flow, planned from the repository and the
latest snapshots, joined with the latest recorded outcome of each order across every
plan and run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from accesshive.apply.executor import DONE, FAILED
from accesshive.operations._common import Loaded, StoreRef, load_and_expand
from accesshive.operations.planning import plan_repository
from accesshive.plan.kinds import OrderKind
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.plan.states import OrderState
from accesshive.store import OrderEvent, Task


@dataclass(frozen=True)
class Step:
    """One order of an identity's current flow, with its latest recorded outcome."""

    order: Order
    state: str
    at: str | None
    message: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "order": self.order.id,
            "action": self.order.action,
            "source": self.order.change.source,
            "account": self.order.change.name or self.order.change.account,
            "account_kind": self.order.change.account_kind,
            "state": self.state,
            "at": self.at,
            "message": self.message,
        }


@dataclass(frozen=True)
class IdentityStatus:
    identity: str
    status: str
    """pending, provisioned, error, or declined (see ``overall_status``)."""
    steps: tuple[Step, ...]
    """What its current desired state still needs, in dependency order."""

    @property
    def outstanding(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.state not in DONE)

    def to_json(self) -> dict[str, object]:
        return {
            "identity": self.identity,
            "status": self.status,
            "steps": [s.to_json() for s in self.steps],
        }


def identity_status(
    root: Path,
    store: StoreRef,
    today: dt.date,
    loaded: Loaded | None = None,
    plan: Plan | None = None,
) -> list[IdentityStatus]:
    """Each identity's provisioning status, from its current flow across every run.

    The flow is the plan of its current desired state against the latest snapshots (so
    an identity nothing was applied to is ``pending``, and one the targets already match
    has no step left), joined with the latest recorded outcome of each order id across
    every plan and run (so retrying one identity changes no other's status). A step
    verified after its source was last read counts as done; one the targets still lack
    at a later read is pending again. Identities pushed by identity providers and
    imported ones are included (``load_and_expand`` merges them). ``loaded``: the
    repository already loaded and expanded, and ``plan`` its plan made by
    ``plan_repository(..., allow_mass_changes=True)`` (the console's pages also need them).
    """
    loaded = loaded or load_and_expand(root, today, store.environment)
    if plan is None:
        plan = plan_repository(root, today, allow_mass_changes=True, store=store, loaded=loaded)
    outcomes: dict[str, OrderEvent] = {}
    read_at: dict[str, str] = {}
    done_tasks: dict[str, Task] = {}
    if store.exists(root):
        with store.open(root) as opened:
            outcomes = opened.latest_outcomes()
            read_at = {info.source: info.read_at for info in opened.snapshot_info()}
            manual = {o.change.source for o in plan.orders if o.kind == OrderKind.MANUAL_TASK}
            # a manual source's export read again unchanged says nothing of work done since
            read_at.update(opened.unchanged_since(manual))
            done_tasks = {t.order_id: t for t in opened.tasks("verified")}
    by_id: dict[str, Step] = {}
    for order in plan.orders:  # in dependency order
        known = _with_its_task(order, outcomes.get(order.id), done_tasks)
        if known is None:
            step = Step(order, OrderState.PENDING, None, None)
        elif known.state in DONE and _read_since(order, known.at, read_at):
            # done once, but the targets were read since and lack it again
            step = Step(order, OrderState.PENDING, known.at, f"was {known.state} at {known.at}")
        else:
            step = Step(order, known.state, known.at, known.message)
        by_id[order.id] = _ready_if_released(step, by_id)
    steps: dict[str, list[Step]] = {}
    for order in plan.orders:
        if order.change.identity:
            steps.setdefault(order.change.identity, []).append(by_id[order.id])
    out = []
    for iid in sorted(loaded[0].identities):
        mine = tuple(steps.get(iid, []))
        out.append(IdentityStatus(iid, overall_status([s.state for s in mine]), mine))
    return out


def _read_since(order: Order, done_at: str, read_at: dict[str, str]) -> bool:
    """Whether the order's source was read after it was done (within the second: at or
    after). A manual source's export read within the second its task was marked done
    predates the work: its owner sends the export after doing it (``tasks.done_since_read``
    decides so too)."""
    read = read_at.get(order.change.source, "")
    return done_at < read if order.kind == OrderKind.MANUAL_TASK else done_at <= read


READY = "ready: run `accesshive apply --auto-approve`"
"""The message of a step a run held for a dependency that is done since (a manual task
its owner marked done): the next apply runs it."""


def _with_its_task(
    order: Order, known: OrderEvent | None, done_tasks: dict[str, Task]
) -> OrderEvent | None:
    """A manual task's order as its task says, once the task is done (its owner marked it
    done, or a sync saw it) and the order is not recorded done: ``tasks.mark_done``
    records it ``verified`` at once, except while an apply held the environment (that
    apply, or the next, records it), or in a plan that had not handed it over yet."""
    task = done_tasks.get(order.id) if order.kind == OrderKind.MANUAL_TASK else None
    if task is None or (known is not None and known.state in DONE):
        return known
    at = task.done_at or task.created_at
    return OrderEvent(order.id, OrderState.VERIFIED, at, f"task {task.id} done by {task.done_by}")


def _ready_if_released(step: Step, earlier: dict[str, Step]) -> Step:
    """A step a run held for its dependencies (``held: waits for ...``) once every one of
    them is done: it waits for nothing but the next apply, and says so."""
    held = step.state == OrderState.PENDING and (step.message or "").startswith("held:")
    deps = step.order.depends_on
    if not held or not all(d in earlier and earlier[d].state in DONE for d in deps):
        return step
    return Step(step.order, step.state, step.at, READY)


def overall_status(states: Sequence[str]) -> str:
    """An identity's status from its steps' states.

    A step that failed on its own (``errored``, ``error``) makes it ``error`` even beside
    a decline: that failure needs someone to act, while a decline is a decision already
    taken. What is only blocked below a decline is not a failure, so a declined step
    with nothing failed beside it shows as ``declined``; a step blocked by anything else
    (another identity's failed group, say) is an ``error``."""
    if any(s in (OrderState.ERRORED, OrderState.ERROR) for s in states):
        return "error"
    if OrderState.DECLINED in states:
        return "declined"
    if any(s in FAILED for s in states):
        return "error"
    if any(s not in DONE for s in states):
        return "pending"
    return "provisioned"
