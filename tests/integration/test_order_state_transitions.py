"""Apply, re-runs, retries, approvals arriving later and resumes after a crash write only
the transitions of the one table (``accesshive.plan.states``), on the quickstart's real
SQLite wiki and its manual badge source.

The store refuses an illegal transition as it is written (``IllegalTransition`` stops the
run), and each test also replays every order's whole recorded history through the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.apply import batch
from accesshive.apply.batch import AccountBatches
from accesshive.apply.executor import Executor
from accesshive.apply.steps import send
from accesshive.config import load_config
from accesshive.errors import ConnectorError
from accesshive.operations import StoreRef, apply_plan, complete_task, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.states import IllegalTransition, OrderState, check_transitions
from accesshive.store import Store, open_store

TODAY = dt.date(2026, 11, 29)
STORE = StoreRef()
S = OrderState


class Crash(BaseException):
    """The process dies here (nothing of ours catches a BaseException)."""


@pytest.fixture
def repo(synced_quickstart: Path) -> Path:
    return synced_quickstart


def _histories(repo: Path, plan: Plan) -> dict[str, list[str]]:
    with open_store(repo) as store:
        rows = store._execute(
            "SELECT order_id, state FROM order_events WHERE plan_digest = ? ORDER BY id",
            (plan.digest,),
        )
    out: dict[str, list[str]] = {}
    for oid, state in rows:
        out.setdefault(str(oid), []).append(str(state))
    return out


def _replay(repo: Path, plan: Plan) -> set[tuple[str | None, str]]:
    """Every recorded history is legal from its first state on; the transitions seen."""
    seen: set[tuple[str | None, str]] = set()
    for oid, history in _histories(repo, plan).items():
        check_transitions({}, [(oid, s) for s in history], plan.digest)
        seen |= set(zip([None, *history], history, strict=False))
    return seen


def _gated(plan: Plan) -> frozenset[str]:
    return frozenset(o.id for o in plan.orders if o.gate)


def _do_open_tasks(repo: Path) -> int:
    with open_store(repo) as store:
        tasks = store.tasks("open")
    for task in tasks:
        complete_task(repo, STORE, task.id, by="facilities")
    return len(tasks)


def _unlock(repo: Path) -> None:
    with open_store(repo) as store:
        store.break_lock(by="test")


def test_apply_reruns_approvals_and_tasks_write_only_legal_transitions(repo: Path) -> None:
    plan = plan_repository(repo, TODAY, store=STORE)
    first = apply_plan(repo, plan, STORE, TODAY, "ci")
    assert {first.states[g] for g in _gated(plan)} == {S.AWAITING_APPROVAL}
    apply_plan(repo, plan, STORE, TODAY, "ci")  # the same plan again: nothing approved yet
    for _ in range(5):  # the owner does the tasks, the reviewers approve, apply continues
        _do_open_tasks(repo)
        result = apply_plan(repo, plan, STORE, TODAY, "ci", approved=_gated(plan))
        if result.status == "complete":
            break
    assert result.status == "complete", result.states
    seen = _replay(repo, plan)
    assert {
        (None, S.PENDING),
        (S.PENDING, S.AWAITING_APPROVAL),
        (S.AWAITING_APPROVAL, S.AWAITING_APPROVAL),
        (S.AWAITING_APPROVAL, S.TRANSMITTED),
        (S.PENDING, S.PENDING),  # held below a task, then held again
        (S.PENDING, S.TRANSMITTED),
        (S.TRANSMITTED, S.TRANSMITTED),  # a task still open on the next run
        (S.TRANSMITTED, S.EXECUTED),
        (S.EXECUTED, S.VERIFIED),
        (S.TRANSMITTED, S.VERIFIED),  # a task done by its owner
    } <= seen


def test_failures_blocks_and_retries_write_only_legal_transitions(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_repository(repo, TODAY, store=STORE)

    def refuse_ada(conn: Any, order: Any, *args: Any) -> Any:
        if order.action == "create_account" and order.change.identity == "ada.lovelace":
            raise ConnectorError("wiki", "409 Conflict: try again later")
        return send(conn, order, *args)

    monkeypatch.setattr(batch, "send", refuse_ada)
    failed = apply_plan(repo, plan, STORE, TODAY, "ci", approved=_gated(plan))
    (create,) = [
        o
        for o in plan.orders
        if o.action == "create_account" and o.change.identity == "ada.lovelace"
    ]
    assert failed.states[create.id] == S.ERRORED
    below = [o for o in plan.orders if create.id in o.depends_on]
    assert below and {failed.states[o.id] for o in below} == {S.BLOCKED}

    monkeypatch.setattr(batch, "send", send)
    retried = apply_plan(repo, plan, STORE, TODAY, "ci", approved=_gated(plan))
    assert retried.states[create.id] == S.VERIFIED
    assert {retried.states[o.id] for o in below} == {S.VERIFIED}
    seen = _replay(repo, plan)
    assert {
        (S.TRANSMITTED, S.ERRORED),
        (S.PENDING, S.BLOCKED),
        (S.ERRORED, S.TRANSMITTED),
        (S.BLOCKED, S.TRANSMITTED),
    } <= seen


@pytest.mark.parametrize("where", ["sending", "verifying"])
def test_resume_after_a_crash_writes_only_legal_transitions(
    repo: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Killed after the batch was marked transmitted (nothing sent) or executed (sent, not
    read back): the next run looks on the target, then verifies or sends again."""
    plan = plan_repository(repo, TODAY, store=STORE)

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    if where == "sending":
        monkeypatch.setattr(batch, "send", crash)
    else:
        monkeypatch.setattr(AccountBatches, "_verify_all", crash)
    with pytest.raises(Crash):
        apply_plan(repo, plan, STORE, TODAY, "ci")
    monkeypatch.undo()
    _unlock(repo)
    with open_store(repo) as store:
        left = {oid: s.state for oid, s in store.order_states(plan.digest).items()}
    interrupted = S.TRANSMITTED if where == "sending" else S.EXECUTED
    assert interrupted in left.values()

    result = apply_plan(repo, plan, STORE, TODAY, "ci", approved=_gated(plan))
    assert not result.failed, result.messages
    _replay(repo, plan)
    histories = _histories(repo, plan)
    for oid, state in left.items():
        if state == interrupted and plan.order(oid).kind != "manual_task":
            after = histories[oid][histories[oid].index(interrupted) + 1 :]
            if where == "sending":  # not on the target: sent again
                assert after == [S.TRANSMITTED, S.EXECUTED, S.VERIFIED], oid
            else:  # on the target: found so by the live read before apply, or the re-check
                assert after in ([S.INACTIVE], [S.VERIFIED]), oid


def test_a_task_done_before_its_handover_was_recorded_is_transmitted_then_verified(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between saving a manual task and recording the order ``transmitted``: the
    owner may do the task meanwhile; the next run records the handover, then verifies."""
    plan = plan_repository(repo, TODAY, store=STORE)
    record = Executor._record

    def crash_at_handover(self: Executor, order: Any, state: OrderState, *a: Any) -> None:
        if order.kind == "manual_task" and state == S.TRANSMITTED:
            raise Crash
        record(self, order, state, *a)

    monkeypatch.setattr(Executor, "_record", crash_at_handover)
    with pytest.raises(Crash):
        apply_plan(repo, plan, STORE, TODAY, "ci")
    monkeypatch.undo()
    _unlock(repo)
    with open_store(repo) as store:
        (task,) = store.tasks("open")
        assert store.order_states(plan.digest)[task.order_id].state == S.PENDING
    assert _do_open_tasks(repo) == 1

    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    assert result.states[task.order_id] == S.VERIFIED
    assert _histories(repo, plan)[task.order_id] == [S.PENDING, S.TRANSMITTED, S.VERIFIED]
    _replay(repo, plan)


def test_the_executor_never_records_an_illegal_write_as_the_orders_error(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write the table refuses is a bug: it stops the run, it is not the order's ``error``."""
    plan = plan_repository(repo, TODAY, store=STORE)

    def back_to_pending(self: AccountBatches, conn: Any, todo: list[Any], finals: Any) -> Any:
        self._record(todo[0], S.PENDING)  # transmitted -> pending
        raise AssertionError("not reached")

    monkeypatch.setattr(AccountBatches, "_send_all", back_to_pending)
    with pytest.raises(IllegalTransition, match="transmitted -> pending"):
        apply_plan(repo, plan, STORE, TODAY, "ci")
    with open_store(repo) as store:
        states = {s.state for s in store.order_states(plan.digest).values()}
        assert S.ERROR not in states
        assert store.runs(plan.digest)[-1]["status"] == "crashed"


def test_a_writer_with_a_stale_view_is_refused_by_the_store(repo: Path) -> None:
    """The store checks against what is recorded, not what the writer believes."""
    plan = plan_repository(repo, TODAY, store=STORE)
    config = load_config(repo)
    with open_store(repo) as store:
        run = store.start_run(plan.digest, "ci")
        executor = Executor(config, plan, store, run)  # reads the prior states: none
        oid = plan.orders[0].id
        for state in (S.PENDING, S.TRANSMITTED, S.EXECUTED, S.VERIFIED):  # another writer
            store.record_order_state(run, plan.digest, oid, state)
        with pytest.raises(IllegalTransition, match=f"order {oid} .*verified -> pending"):
            executor.run()
        assert store.order_states(plan.digest)[oid].state == S.VERIFIED


@pytest.fixture
def postgres_store(tmp_path: Path, postgres_db: str) -> Iterator[Store]:
    with open_store(tmp_path, url=postgres_db) as store:
        yield store


def test_postgresql_checks_transitions_too(postgres_store: Store) -> None:
    run = postgres_store.start_run("p1", "ci")
    ids = [f"o{n:04}" for n in range(700)]  # more than one lookup query's worth
    for state in (S.PENDING, S.TRANSMITTED, S.EXECUTED):
        postgres_store.record_order_states(run, "p1", [(o, state, None, None) for o in ids])
    with pytest.raises(IllegalTransition, match=r"order o0699 .*executed -> pending"):
        postgres_store.record_order_states(
            run, "p1", [(o, S.VERIFIED if o != "o0699" else S.PENDING, None, None) for o in ids]
        )
    assert {e.state for e in postgres_store.order_states("p1").values()} == {"executed"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_latest_event_of_each_order_is_of_its_own_plan_and_latest_run(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """What the transition check and a worker's dispatcher read back: per order, its
    latest event in this plan (a later run's, not an earlier one's; never another plan's
    event of the same order id), and nothing for an order never recorded."""
    url = request.getfixturevalue("postgres_db") if kind == "postgresql" else None
    with open_store(tmp_path, url=url) as store:
        first, other = store.start_run("p1", "ci"), store.start_run("p0", "ci")
        ids = [f"o{n:04}" for n in range(600)]  # more than one look-up query's worth
        store.record_order_states(first, "p1", [(o, S.PENDING, None, None) for o in ids])
        store.record_order_states(first, "p1", [(o, S.TRANSMITTED, None, None) for o in ids])
        for state in (S.PENDING, S.TRANSMITTED, S.EXECUTED, S.VERIFIED):
            store.record_order_states(other, "p0", [("o0001", state, None, None)])
        second = store.start_run("p1", "ci")
        store.record_order_states(second, "p1", [("o0599", S.EXECUTED, "sent", "ext-1")])
        found = store.latest_events("p1", {"o0001", "o0599", "o9999"})
    assert set(found) == {"o0001", "o0599"}
    assert (found["o0001"][0], found["o0001"][1].state) == (first, S.TRANSMITTED)
    run, event = found["o0599"]
    assert (run, event.state, event.message, event.result) == (second, S.EXECUTED, "sent", "ext-1")
