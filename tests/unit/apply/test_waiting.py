"""What an order blocked below a failure says it still needs: a gated order not approved
says it needs approval too, so that whoever fixes the failure knows that apply will not
run it until reviewers approve it."""

from __future__ import annotations

from pathlib import Path

from accesshive.apply.waiting import blocked, holder
from accesshive.plan.model import Plan
from accesshive.plan.states import OrderState
from accesshive.store import Store
from tests.support.executor import run_executor
from tests.support.faults import Fault, FaultPlan
from tests.unit.apply.test_executor_outcomes import _id, reviewed

__all__ = ["reviewed"]  # the fixture, shared with the executor's outcomes


def test_a_blocked_gated_order_says_it_also_needs_approval(
    reviewed: tuple[Path, Plan, Store],
) -> None:
    _, plan, _ = reviewed
    idp = _id(plan, "create_account", "idp", "ada")
    app = plan.order(_id(plan, "create_account", "app", "ada"))  # gated: 2 approvals
    staff = plan.order(_id(plan, "grant", "app", "ada", "staff"))  # not gated
    reason = f"dependency {idp} is errored"
    assert blocked(app, reason, approved=set(), notes={}) == (
        f"dependency {idp} is errored; it also needs 2 approval(s) from platform, security"
    )
    # what reviewers already gave is said as apply says it while the order waits
    note = "needs 1 more approval(s) from platform, security (approved by alice)"
    assert blocked(app, reason, approved=set(), notes={app.id: note}) == f"{reason}; it also {note}"
    # approved, or never gated: the dependency is all it waits for
    assert blocked(app, reason, approved={app.id}, notes={}) == reason
    assert blocked(staff, reason, approved=set(), notes={}) == reason


def test_apply_says_a_gated_order_blocked_below_a_failure_still_needs_approval(
    reviewed: tuple[Path, Plan, Store], faults: FaultPlan
) -> None:
    _, plan, _ = reviewed
    idp = _id(plan, "create_account", "idp", "ada")
    app = _id(plan, "create_account", "app", "ada")
    admins = _id(plan, "grant", "app", "ada", "admins")
    staff = _id(plan, "grant", "app", "ada", "staff")
    faults.add("create_account", Fault("fatal", "409 the directory is read-only"))
    result = run_executor(reviewed)
    assert (result.states[app], result.messages[app]) == (
        "blocked",
        f"dependency {idp} is errored; it also needs 2 approval(s) from platform, security",
    )
    assert result.messages[admins] == (
        f"dependency {app} is blocked; it also needs 1 approval(s) from security"
    )
    assert result.messages[staff] == f"dependency {app} is blocked"


def test_what_holds_an_order_left_pending_names_it(reviewed: tuple[Path, Plan, Store]) -> None:
    """``held: waits for …``, the message of an order a walk ended without running: the
    approval it lacks, the dependency not done (with that dependency's state), or a
    dependency a targeted run (``--source``/``--identity``) left out, with what to do."""
    _, plan, _ = reviewed
    app = plan.order(_id(plan, "create_account", "app", "ada"))  # gated, depends on others
    staff = plan.order(_id(plan, "grant", "app", "ada", "staff"))  # not gated
    (dep,) = staff.depends_on
    states: dict[str, OrderState] = {}

    def state_of(oid: str) -> OrderState | None:
        return states.get(oid)

    assert holder(app, set(), None, state_of) == "approval"
    assert holder(staff, set(), None, state_of) == f"{dep} (not run yet)"
    states[dep] = OrderState.AWAITING_APPROVAL
    assert holder(staff, set(), None, state_of) == f"{dep} (awaiting_approval)"
    # approved: what it waits for is its dependencies
    assert holder(app, {app.id}, None, state_of) != "approval"
    # a dependency left out of a targeted run and not done: say how to get it done
    assert holder(staff, set(), {staff.id}, state_of) == (
        f"{dep}, which is not done and not in this targeted run: apply it first "
        "(apply the plan without --source/--identity, or target its own)"
    )
    # in the targeted run, it is one dependency like any other
    assert holder(staff, set(), {staff.id, dep}, state_of) == f"{dep} (awaiting_approval)"
    # every dependency done: nothing holds it
    states[dep] = OrderState.VERIFIED
    assert holder(staff, set(), {staff.id}, state_of) == "nothing"
    assert holder(staff, set(), None, state_of) == "nothing"
