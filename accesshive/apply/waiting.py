"""Why an order waits instead of running: the note it carries while it awaits approval,
what holds it when the walk ends without it, and what a blocked order still needs.

Pure functions of the order and the run's approvals and states, so that the message a
user reads in ``status`` and in the PR comment is decided in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from accesshive.apply.batch import Record
from accesshive.plan.orders import Order
from accesshive.plan.states import DONE, OrderState


def awaiting_approval(order: Order, notes: Mapping[str, str]) -> Record:
    """A gated order's record: ``awaiting_approval``, with what an approval already given
    says (``notes``: order id → note) or who must approve."""
    return (order, OrderState.AWAITING_APPROVAL, approval_note(order, notes), None)


def approval_note(order: Order, notes: Mapping[str, str]) -> str:
    """What a gated order needs to run: the note of the approvals already given
    (``notes``: order id → note), else how many approvals from whom its gate asks."""
    assert order.gate is not None
    return notes.get(order.id) or (f"needs {order.gate.wanted('approval(s)')}")


def blocked(order: Order, reason: str, approved: Collection[str], notes: Mapping[str, str]) -> str:
    """The message of an order blocked below a failure or a decline (``reason``: which
    dependency, and why). A gated order not approved says it needs approval too: else the
    reader fixes the dependency, runs apply again, and only then learns that the order
    still waits, for reviewers who were never asked."""
    if order.gate is None or order.id in approved:
        return reason
    return f"{reason}; it also {approval_note(order, notes)}"


def holder(
    order: Order,
    approved: Collection[str],
    only: Collection[str] | None,
    state_of: Callable[[str], OrderState | None],
) -> str:
    """What an order left pending at the end of a walk waits for: an approval, a
    dependency not done (with its state), or one outside a targeted run (``only``)."""
    if order.gate and order.id not in approved:
        return "approval"
    for dep in order.depends_on:
        if only is not None and dep not in only and state_of(dep) not in DONE:
            return (
                f"{dep}, which is not done and not in this targeted run: apply it first "
                "(apply the plan without --source/--identity, or target its own)"
            )
        state = state_of(dep)
        if state not in DONE:
            return f"{dep} ({state or 'not run yet'})"
    return "nothing"
