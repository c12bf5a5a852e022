"""Every order-state transition of the executor, driven by injected faults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.plan.model import Plan
from accesshive.store import Store, open_store
from tests.support.executor import fresh_store_name, memory_accounts, plan_for, run_executor
from tests.support.faults import Fault, FaultPlan

TODAY = dt.date(2026, 11, 29)

CONFIG = """version: 1
name: unit
sources:
  app:
    kind: sql
    concurrency: 1  # one call at a time: the injected faults hit a known order
    connection: {{connector: memory, store: {store}}}
    retry: {{attempts: 3, initial_delay: 0.001, max_delay: 0.01}}
    account:
      name_attribute: login
      create: {{login: "{{{{ id }}}}"}}
      correlation: [login]
    entitlements:
      staff: {{}}
      admins: {{sensitive: true}}
access_profiles:
  base: {{source: app, entitlements: [staff]}}
  admin: {{source: app, entitlements: [admins]}}
identities:
  ada: {{type: human, access_profiles: [base, admin]}}
  bob: {{type: human, access_profiles: [base]}}
"""


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, Plan, Store]]:
    plan = plan_for(tmp_path, CONFIG.format(store=fresh_store_name("unit")), TODAY)
    with open_store(tmp_path) as store:
        yield tmp_path, plan, store


def _order(plan: Plan, action: str, identity: str, entitlement: str | None = None) -> str:
    return next(
        o.id
        for o in plan.orders
        if o.action == action
        and o.change.identity == identity
        and o.change.entitlement == entitlement
    )


def _history(setup: tuple[Path, Plan, Store], oid: str) -> list[str]:
    _, plan, store = setup
    return [s.state for s in store.order_history(plan.digest, oid)]


def _all_done(plan: Plan) -> dict[str, str]:
    """The exact outcome of a run where nothing fails: every order verified, but ada's
    admins grant, which is gated and waits for approval."""
    return {o.id: "awaiting_approval" if o.gate else "verified" for o in plan.orders}


def _notes(setup: tuple[Path, Plan, Store], oid: str) -> list[str]:
    _, plan, store = setup
    return [s.message or "" for s in store.order_history(plan.digest, oid)]


def test_happy_path_goes_through_every_state(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    result = run_executor(setup)
    plan = setup[1]
    create = _order(plan, "create_account", "bob")
    assert _history(setup, create) == ["pending", "transmitted", "executed", "verified"]
    assert result.states[_order(plan, "grant", "bob", "staff")] == "verified"


def test_retryable_failure_is_retried(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    faults.add("grant", Fault("retryable", "HTTP 429 Too Many Requests"))
    result = run_executor(setup)
    plan = setup[1]
    assert result.states == _all_done(plan)
    assert faults.calls["grant"] == 3  # ada staff (fails once, then ok) + bob staff
    assert not faults.queues["grant"]  # the fault fired
    retried = [
        who
        for who in ("ada", "bob")
        if any(
            "HTTP 429 Too Many Requests" in n
            for n in _notes(setup, _order(plan, "grant", who, "staff"))
        )
    ]
    assert len(retried) == 1


def test_timeouts_exhaust_attempts_then_error(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    faults.add("create_account", *[Fault("timeout")] * 3)
    result = run_executor(setup)
    plan = setup[1]
    failed = [oid for oid, s in result.states.items() if s == "errored"]
    assert len(failed) == 1
    assert result.messages[failed[0]] == "timed out after 0.05s"
    assert _history(setup, failed[0]).count("transmitted") == 3  # first try + 2 retry notes
    # the grants of that identity are blocked, the other identity proceeds
    order = plan.order(failed[0])
    below = [o.id for o in plan.orders if failed[0] in o.depends_on]
    assert below and {result.states[b] for b in below} == {"blocked"}
    others = [
        o.id for o in plan.orders if o.change.identity != order.change.identity and not o.gate
    ]
    assert {result.states[o] for o in others} == {"verified"}


def test_fatal_failure_is_not_retried(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    faults.add("grant", Fault("fatal", "400 Bad Request: unknown group staff"))
    result = run_executor(setup)
    errored = [oid for oid, s in result.states.items() if s == "errored"]
    assert [result.messages[e] for e in errored] == ["400 Bad Request: unknown group staff"]
    assert faults.calls["grant"] == 2  # one attempt for the failing grant, one for the other


def test_already_exists_is_adopted(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    faults.add("create_account", Fault("exists"))
    result = run_executor(setup)
    assert result.states == _all_done(setup[1])
    assert not faults.queues["create_account"]  # the fault fired
    adopted = [m for m in result.messages.values() if m == "adopted the existing account"]
    assert len(adopted) == 1
    root = setup[0]
    assert len(memory_accounts(root, "app")) == 2  # no duplicate


def test_slow_target_still_verifies(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    faults.add("grant", Fault("slow", seconds=0.2), Fault("slow", seconds=0.2))
    result = run_executor(setup)
    assert result.status == "incomplete"  # only the gated grant waits
    assert result.states == _all_done(setup[1])
    assert not faults.queues["grant"]  # both slow calls happened


def test_our_own_failure_is_error_not_errored(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    faults.add("set_enabled", Fault("crash"))
    faults.add("grant", Fault("crash", "bad mapping"))
    result = run_executor(setup)
    assert sorted(result.messages[o] for o, s in result.states.items() if s == "error") == [
        "KeyError: 'bad mapping'"
    ]


def test_gated_order_waits_and_runs_once_approved(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    plan = setup[1]
    gated = _order(plan, "grant", "ada", "admins")
    first = run_executor(setup)
    assert first.states[gated] == "awaiting_approval"
    assert first.status == "incomplete"
    second = run_executor(setup, approved={gated})
    assert second.states[gated] == "verified"
    assert second.status == "complete"


def test_inactive_orders_are_recorded_not_sent(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    plan = setup[1]
    grant = _order(plan, "grant", "bob", "staff")
    result = run_executor(setup, inactive={grant})
    assert result.states[grant] == "inactive"
    assert faults.calls["grant"] == 1  # only ada's staff grant was sent


def test_grants_of_one_entitlement_go_in_one_write(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    """A connector that takes many members at once gets a batch's grants of one
    entitlement in one call, and each grant is still verified on its own."""
    faults.membership_batches = True
    plan = setup[1]
    result = run_executor(setup)
    assert (faults.calls["grant_many"], faults.calls["grant"]) == (1, 0)
    for who in ("ada", "bob"):
        assert _history(setup, _order(plan, "grant", who, "staff")) == [
            "pending",
            "transmitted",
            "executed",
            "verified",
        ]
    assert result.states == _all_done(plan)


def test_a_failed_many_grant_write_is_retried_then_sent_one_by_one(
    setup, faults: FaultPlan
) -> None:  # type: ignore[no-untyped-def]
    """A retryable failure of the one write is retried (noted on every order in it); one
    that will not pass sends each grant on its own, so that only the grant at fault
    errors, with its own message."""
    faults.membership_batches = True
    plan = setup[1]
    faults.add("grant_many", Fault("retryable", "HTTP 503"), Fault("fatal", "400 Bad Request"))
    faults.add("grant", Fault("fatal", "400 Bad Request: one cannot join staff"))
    result = run_executor(setup)
    grants = [_order(plan, "grant", who, "staff") for who in ("ada", "bob")]
    assert (faults.calls["grant_many"], faults.calls["grant"]) == (2, 2)
    outcomes = sorted((result.states[g], result.messages.get(g, "")) for g in grants)
    assert outcomes[0] == ("errored", "400 Bad Request: one cannot join staff")
    assert outcomes[1][0] == "verified"
    for oid in grants:
        notes = [s.message or "" for s in setup[2].order_history(plan.digest, oid)]
        assert any("attempt 1 failed (source 'app': HTTP 503)" in n for n in notes), notes


def test_a_create_is_verified_by_the_account_the_target_returned(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    """When the target answers a create with the new account (LDAP post-read, SCIM POST)
    and it shows what was asked, no read-back is needed; the grants are still read."""
    faults.created_account = "exact"
    result = run_executor(setup)
    assert result.states == _all_done(setup[1])
    assert faults.calls["get_account"] == 2  # ada's and bob's staff grants, not the creates


def test_a_returned_account_that_differs_is_read_back(setup, faults: FaultPlan) -> None:  # type: ignore[no-untyped-def]
    """A target that answers with less than it holds costs a read, never a false error."""
    faults.created_account = "stale"
    result = run_executor(setup)
    assert result.states == _all_done(setup[1])
    assert faults.calls["get_account"] == 4
