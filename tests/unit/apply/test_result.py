"""What an apply's summary says per source (``ApplyResult.by_source``) and about the run
(``status``, ``declined``): the words a user reads after ``accesshive apply``, in its
``--format json`` ``sources`` too. Each source gets the most pressing of its orders'
outcomes, so one failed grant is never hidden behind ninety-nine verified ones."""

from __future__ import annotations

import pytest

from accesshive.apply.result import ApplyResult, source_status
from accesshive.plan.model import Plan
from accesshive.plan.states import OrderState as S
from tests.support.plans import order, plan_of


def _plan(*orders: tuple[str, str]) -> Plan:
    """A plan of (order id, source) grants."""
    return plan_of(
        *(order(oid, "grant", "ada", source=source, entitlement="e") for oid, source in orders)
    )


@pytest.mark.parametrize(
    ("states", "unreachable", "expected"),
    [
        # every order final: ok; inactive (no longer needed) is final too
        ({S.VERIFIED, S.INACTIVE}, False, "ok"),
        # something still to do (awaiting approval, a task handed to a person)
        ({S.VERIFIED, S.AWAITING_APPROVAL}, False, "waiting"),
        ({S.TRANSMITTED}, False, "waiting"),
        ({S.PENDING}, False, "waiting"),
        # below a failure elsewhere
        ({S.VERIFIED, S.BLOCKED}, False, "blocked"),
        # a reviewer said no: named before blocked, which it causes
        ({S.BLOCKED, S.DECLINED, S.VERIFIED}, False, "declined"),
        # a failure on the target, or in accesshive's own evaluation, comes first
        ({S.DECLINED, S.BLOCKED, S.ERRORED}, False, "failed"),
        ({S.VERIFIED, S.ERROR}, False, "failed"),
        # a source that could not be read is unreachable whatever its orders show
        ({S.ERRORED, S.DECLINED}, True, "unreachable"),
        ({S.VERIFIED}, True, "unreachable"),
    ],
)
def test_a_source_shows_its_most_pressing_outcome(
    states: set[S], unreachable: bool, expected: str
) -> None:
    assert source_status(states, unreachable) == expected
    # the precedence does not depend on the order the states come in
    assert source_status(sorted(states, reverse=True), unreachable) == expected


def test_the_summary_counts_each_sources_orders_by_state() -> None:
    plan = _plan(("o1", "wiki"), ("o5", "ldap"), ("o2", "wiki"), ("o3", "wiki"), ("o4", "crm"))
    result = ApplyResult(
        plan_digest="d",
        run_id=1,
        states={"o1": S.VERIFIED, "o2": S.VERIFIED, "o3": S.ERRORED, "o4": S.ERRORED},
        unreachable={"crm": "crm could not be read: connection refused"},
    )
    summary = result.by_source(plan)
    assert summary == {
        # sorted by source; an order this run did not reach (o5) is not counted, and a
        # source none of whose orders was reached is not listed
        "crm": {
            "states": {"errored": 1},
            "unreachable": "crm could not be read: connection refused",
            "status": "unreachable",
        },
        "wiki": {"states": {"errored": 1, "verified": 2}, "unreachable": None, "status": "failed"},
    }
    assert list(summary) == ["crm", "wiki"]
    assert list(summary["wiki"]["states"]) == ["errored", "verified"]  # type: ignore[call-overload]


def test_the_runs_status_and_what_it_declined() -> None:
    done = ApplyResult(plan_digest="d", run_id=1, states={"a": S.VERIFIED, "b": S.INACTIVE})
    assert (done.status, done.failed, done.declined) == ("complete", False, {})

    held = ApplyResult(plan_digest="d", run_id=1, states={"a": S.VERIFIED, "b": S.PENDING})
    assert (held.status, held.failed) == ("incomplete", False)

    declined = ApplyResult(
        plan_digest="d",
        run_id=1,
        states={"b": S.DECLINED, "a": S.DECLINED, "c": S.BLOCKED, "d": S.VERIFIED},
        messages={"a": "declined by bob: not this quarter"},
    )
    assert (declined.status, declined.failed) == ("failed", True)
    # each declined order with who declined it, in order id order; "declined" when the
    # run recorded no message for it
    assert declined.declined == {"a": "declined by bob: not this quarter", "b": "declined"}
    assert list(declined.declined) == ["a", "b"]
    assert declined.count(S.DECLINED, S.BLOCKED) == 3
    assert declined.count(S.VERIFIED) == 1
    assert declined.count() == 0
