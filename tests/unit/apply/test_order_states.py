"""The order states and their one transition table, enforced where states are written."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.plan.kinds import (
    ACCOUNT_ACTIONS,
    ACTIONS,
    ADDING,
    CHANGING,
    CREDENTIAL_ACTIONS,
    GROUP_ACTIONS,
    KIND_RANK,
    ORDER_KINDS,
    REMOVING,
    OrderKind,
)
from accesshive.plan.orders import Change, Order
from accesshive.plan.states import (
    DONE,
    FAILED,
    INITIAL,
    SENT,
    TRANSITIONS,
    IllegalTransition,
    OrderState,
    check_transition,
    check_transitions,
)
from accesshive.store import Store, open_store

S = OrderState
PLAN = "p" * 64

LEGAL = [(was, to) for was, nexts in TRANSITIONS.items() for to in sorted(nexts)]
ILLEGAL = [(was, to) for was in OrderState for to in OrderState if to not in TRANSITIONS[was]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path) as opened:
        yield opened


def _path_to(state: OrderState) -> list[OrderState]:
    """The shortest legal history that leaves an order in ``state``."""
    queue: deque[list[OrderState]] = deque([[s] for s in sorted(INITIAL)])
    while queue:
        path = queue.popleft()
        if path[-1] == state:
            return path
        queue.extend([*path, n] for n in sorted(TRANSITIONS[path[-1]]) if n not in path)
    raise AssertionError(f"{state} cannot be reached")


def _put(store: Store, run: int, oid: str, states: list[OrderState]) -> None:
    for state in states:
        store.record_order_state(run, PLAN, oid, state)


# ---------------------------------------------------------------------- the table


def test_the_values_are_the_stored_strings() -> None:
    assert {s.value for s in OrderState} == {
        "pending",
        "awaiting_approval",
        "transmitted",
        "executed",
        "verified",
        "inactive",
        "errored",
        "error",
        "blocked",
        "declined",
    }
    assert set(TRANSITIONS) == set(OrderState)
    assert {S.VERIFIED, S.INACTIVE} == DONE
    assert {S.ERRORED, S.ERROR, S.BLOCKED, S.DECLINED} == FAILED
    assert {S.TRANSMITTED, S.EXECUTED} == SENT


def test_the_table_holds_what_apply_relies_on() -> None:
    # final states are final; every state can be reached and every order can finish
    for state in OrderState:
        assert _path_to(state)[-1] == state
    for state in set(OrderState) - DONE:
        seen, todo = {state}, [state]
        while todo:
            for n in TRANSITIONS[todo.pop()] - seen:
                seen.add(n)
                todo.append(n)
        assert S.VERIFIED in seen, state
    # only what was sent is executed or verified by the target
    for was, to in LEGAL:
        if to in (S.EXECUTED, S.VERIFIED):
            assert was in SENT, (was, to)
    # errored: the target's answer to what was sent, or its source unreachable, which
    # fails an order never sent (held, blocked, approved, failed before) without sending it
    for was in (S.PENDING, S.BLOCKED, S.AWAITING_APPROVAL, S.ERRORED, S.ERROR, *SENT):
        assert S.ERRORED in TRANSITIONS[was], was
    assert S.ERRORED not in INITIAL
    # what may have reached the target is never forgotten as held or blocked
    for was in SENT:
        assert not TRANSITIONS[was] & {S.PENDING, S.BLOCKED}
    # a failed order never goes back to held or blocked: its dependencies are done for good
    for was in (S.ERRORED, S.ERROR):
        assert not TRANSITIONS[was] & {S.PENDING, S.BLOCKED}
    # a reviewer may decline any order that is not done; a withdrawn decline leaves the
    # order as if never attempted, and no decline is final
    for was in set(OrderState) - DONE:
        assert S.DECLINED in TRANSITIONS[was], was
    assert TRANSITIONS[S.DECLINED] == TRANSITIONS[S.PENDING]
    assert S.DECLINED not in DONE and S.DECLINED not in INITIAL
    # retries, approvals arriving later, and a restart's check on the target
    for was, to in [
        (S.ERRORED, S.TRANSMITTED),
        (S.ERROR, S.TRANSMITTED),
        (S.AWAITING_APPROVAL, S.TRANSMITTED),
        (S.AWAITING_APPROVAL, S.PENDING),
        (S.BLOCKED, S.TRANSMITTED),
        (S.TRANSMITTED, S.VERIFIED),
        (S.EXECUTED, S.VERIFIED),
        (S.EXECUTED, S.TRANSMITTED),
        (S.TRANSMITTED, S.TRANSMITTED),
        (S.PENDING, S.INACTIVE),
    ]:
        assert to in TRANSITIONS[was], (was, to)


@pytest.mark.parametrize(("was", "to"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_every_legal_transition_is_written(store: Store, was: OrderState, to: OrderState) -> None:
    run = store.start_run(PLAN, "test")
    history = [*_path_to(was), to]
    _put(store, run, "o1", history)
    assert [e.state for e in store.order_history(PLAN, "o1")] == history
    assert store.order_states(PLAN)["o1"].state == to


@pytest.mark.parametrize(("was", "to"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_raises_at_the_write(
    store: Store, was: OrderState, to: OrderState
) -> None:
    run = store.start_run(PLAN, "test")
    _put(store, run, "o1", _path_to(was))
    before = store.order_history(PLAN, "o1")
    entries = len(store.audit_entries())
    with pytest.raises(IllegalTransition) as info:
        store.record_order_state(run, PLAN, "o1", to, "message")
    assert f"order o1 of plan {PLAN[:12]}: {was} -> {to}" in str(info.value)
    assert (info.value.order_id, info.value.was, info.value.to) == ("o1", was, to)
    assert store.order_history(PLAN, "o1") == before  # nothing written, nothing audited
    assert len(store.audit_entries()) == entries


@pytest.mark.parametrize(
    ("history", "to"),
    [
        ([S.PENDING, S.TRANSMITTED, S.EXECUTED, S.VERIFIED], S.TRANSMITTED),
        ([S.PENDING], S.VERIFIED),
        ([], S.VERIFIED),
        ([], S.ERRORED),
        ([S.PENDING, S.TRANSMITTED], S.PENDING),
        ([S.PENDING, S.INACTIVE], S.PENDING),
    ],
)
def test_named_illegal_transitions(store: Store, history: list[OrderState], to: str) -> None:
    run = store.start_run(PLAN, "test")
    _put(store, run, "abc123", history)
    was = history[-1] if history else "(none)"
    with pytest.raises(IllegalTransition) as info:
        store.record_order_state(run, PLAN, "abc123", to)
    assert f"for order abc123 of plan {PLAN[:12]}: {was} -> {to} (allowed: " in str(info.value)


def test_a_batch_with_one_illegal_move_writes_nothing(store: Store) -> None:
    run = store.start_run(PLAN, "test")
    _put(store, run, "done", [S.PENDING, S.TRANSMITTED, S.VERIFIED])
    _put(store, run, "new", [S.PENDING])
    with pytest.raises(IllegalTransition, match="order done"):
        store.record_order_states(
            run,
            PLAN,
            [("new", S.TRANSMITTED, None, None), ("done", S.TRANSMITTED, None, None)],
        )
    assert store.order_states(PLAN)["new"].state == S.PENDING


def test_moves_in_one_batch_follow_each_other(store: Store) -> None:
    run = store.start_run(PLAN, "test")
    store.record_order_states(
        run,
        PLAN,
        [("o1", s, None, None) for s in (S.PENDING, S.TRANSMITTED, S.EXECUTED, S.VERIFIED)],
    )
    assert store.order_states(PLAN)["o1"].state == S.VERIFIED
    with pytest.raises(IllegalTransition, match=r"order o2 .*: pending -> verified"):
        store.record_order_states(
            run, PLAN, [("o2", S.PENDING, None, None), ("o2", S.VERIFIED, None, None)]
        )


def test_states_are_per_plan(store: Store) -> None:
    """An order id verified in one plan starts afresh in another."""
    run = store.start_run(PLAN, "test")
    _put(store, run, "o1", [S.PENDING, S.TRANSMITTED, S.VERIFIED])
    other = store.start_run("q" * 64, "test")
    store.record_order_state(other, "q" * 64, "o1", S.PENDING)
    with pytest.raises(IllegalTransition):
        store.record_order_state(run, PLAN, "o1", S.PENDING)


def test_unknown_states_are_refused(store: Store) -> None:
    run = store.start_run(PLAN, "test")
    with pytest.raises(IllegalTransition, match="'rejected' is not an order state"):
        store.record_order_state(run, PLAN, "o1", "rejected")
    # a store edited by hand: its state is not one of ours, so nothing follows it
    store._execute(
        "INSERT INTO order_events (run_id, plan_digest, order_id, state, at) "
        "VALUES (?, ?, 'o2', 'rejected', 'now')",
        (run, PLAN),
    )
    with pytest.raises(IllegalTransition, match="recorded state 'rejected'"):
        store.record_order_state(run, PLAN, "o2", S.PENDING)


def test_many_orders_are_checked_in_few_queries(store: Store) -> None:
    """The batch writer reads the latest states of a batch in one query per 500 orders,
    not one per order."""
    run = store.start_run(PLAN, "test")
    ids = [f"o{n:05}" for n in range(1200)]
    store.record_order_states(run, PLAN, [(oid, S.PENDING, None, None) for oid in ids])
    reads: list[str] = []
    execute = store._execute

    def counting(sql: str, params: object = ()) -> list[tuple[object, ...]]:
        if sql.lstrip().upper().startswith("SELECT") and "order_events" in sql:
            reads.append(sql)
        return execute(sql, params)  # type: ignore[arg-type]

    store._execute = counting  # type: ignore[method-assign]
    store.record_order_states(run, PLAN, [(oid, S.TRANSMITTED, None, None) for oid in ids])
    assert len(reads) == 3
    assert set(store.order_states(PLAN)) == set(ids)
    assert {e.state for e in store.order_states(PLAN).values()} == {S.TRANSMITTED}


def test_check_transitions_without_a_store() -> None:
    assert check_transition("o", None, "pending") is S.PENDING
    assert check_transitions({"o": "executed"}, [("o", "verified"), ("p", "pending")]) == [
        S.VERIFIED,
        S.PENDING,
    ]
    with pytest.raises(IllegalTransition, match=r"verified -> transmitted \(allowed: nothing"):
        check_transition("o", "verified", "transmitted")
    assert issubclass(IllegalTransition, AssertionError)  # a bug, never a user's error


# ---------------------------------------------------------------------- the order kinds


def test_order_kinds_are_defined_once() -> None:
    from accesshive.config.model import ORDER_KINDS as CONFIG_KINDS
    from accesshive.connectors.base import ALL_ORDER_KINDS

    assert {k.value for k in OrderKind} == {
        "create_account",
        "update_account",
        "enable_account",
        "disable_account",
        "delete_account",
        "grant",
        "revoke",
        "store_credential",
        "rotate_credential",
        "create_group",
        "update_group",
        "delete_group",
        "manual_task",
    }
    # the review policy's order_kinds validate against the same list
    assert set(CONFIG_KINDS) == set(OrderKind)
    assert ALL_ORDER_KINDS == ACCOUNT_ACTIONS
    assert (
        ACTIONS
        == ACCOUNT_ACTIONS | CREDENTIAL_ACTIONS | GROUP_ACTIONS
        == set(OrderKind) - {OrderKind.MANUAL_TASK}
    )
    assert ADDING | CHANGING | REMOVING == ACTIONS
    assert not (ADDING & CHANGING or ADDING & REMOVING or CHANGING & REMOVING)
    assert list(KIND_RANK) == list(ORDER_KINDS)
    assert KIND_RANK["create_account"] < KIND_RANK["grant"] < KIND_RANK["delete_account"]
    assert KIND_RANK["create_group"] < KIND_RANK["grant"] < KIND_RANK["delete_group"]


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="'grant_all' is not an order action"):
        Change("grant_all", "wiki", "ada")
    change = Change("grant", "wiki", "ada", entitlement="readers")
    with pytest.raises(ValueError, match="kind 'revoke' is neither its action"):
        Order("o1", "revoke", change)
    assert Order("o1", "manual_task", change).kind == "manual_task"
    assert Order("o1", "grant", change).state == "pending"
