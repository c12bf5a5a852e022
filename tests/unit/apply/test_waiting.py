"""What an order blocked below a failure says it still needs: a gated order not approved
says it needs approval too, so that whoever fixes the failure knows that apply will not
run it until reviewers approve it."""

from __future__ import annotations

from pathlib import Path

from accesshive.apply.waiting import blocked
from accesshive.plan.model import Plan
from accesshive.store import Store
from tests.support.faults import Fault, FaultPlan
from tests.unit.apply.test_executor_outcomes import _id, _run, faults, reviewed

__all__ = ["faults", "reviewed"]  # the fixtures, shared with the executor's outcomes


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
    result = _run(reviewed)
    assert (result.states[app], result.messages[app]) == (
        "blocked",
        f"dependency {idp} is errored; it also needs 2 approval(s) from platform, security",
    )
    assert result.messages[admins] == (
        f"dependency {app} is blocked; it also needs 1 approval(s) from security"
    )
    assert result.messages[staff] == f"dependency {app} is blocked"
