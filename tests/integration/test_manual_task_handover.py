"""Orders on a manual source, as its owner and the order history see them: the task handed
over (what to do, for whom), and the order verified once the owner did it, each step
recorded once with what happened."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.operations import StoreRef, apply_plan, complete_task, plan_repository
from accesshive.plan.model import Plan
from accesshive.store import open_store
from accesshive.tasks import task_id

TODAY = dt.date(2026, 11, 29)
OWNER = "facilities@quickstart.example"


@pytest.fixture
def repo(synced_quickstart: Path) -> Path:
    return synced_quickstart


def _badge(plan: Plan, action: str, who: str) -> str:
    return next(
        o.id
        for o in plan.orders
        if o.kind == "manual_task" and o.action == action and o.change.identity == who
    )


def _history(repo: Path, plan: Plan, oid: str) -> list[tuple[str, str | None]]:
    with open_store(repo) as store:
        return [(e.state, e.message) for e in store.order_history(plan.digest, oid)]


def test_a_task_is_handed_over_then_verified_once_done(repo: Path) -> None:
    plan = plan_repository(repo, TODAY, store=StoreRef())
    create = _badge(plan, "create_account", "grace.hopper")
    tid = task_id(plan.digest, create)

    first = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert first.states[create] == "transmitted"
    task = next(t for t in first.tasks if t.order_id == create)
    assert (task.id, task.assignee, task.source, task.state) == (tid, OWNER, "badges", "open")
    assert task.description == "create account Grace Hopper on badges"
    assert _history(repo, plan, create) == [
        ("pending", None),
        ("transmitted", f"task {tid} for {OWNER}"),
    ]

    complete_task(repo, StoreRef(), tid, by="facilities-erin")
    done = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert done.states[create] == "verified"
    assert _history(repo, plan, create) == [
        ("pending", None),
        ("transmitted", f"task {tid} for {OWNER}"),
        ("verified", f"task {tid} done by facilities-erin"),
    ]


def test_a_task_done_before_its_handover_was_recorded_names_both(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The task was saved, the run died before recording the handover, and the owner did
    it meanwhile: the next run records the handover and the completion, in that order."""
    from accesshive.apply.executor import Executor

    plan = plan_repository(repo, TODAY, store=StoreRef())
    create = _badge(plan, "create_account", "grace.hopper")
    tid = task_id(plan.digest, create)
    record = Executor._record

    class Crash(BaseException):
        pass

    def crash_at_handover(self: Executor, order, state, *args):  # type: ignore[no-untyped-def]
        if order.id == create and state == "transmitted":
            raise Crash
        record(self, order, state, *args)

    monkeypatch.setattr(Executor, "_record", crash_at_handover)
    with pytest.raises(Crash):
        apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    monkeypatch.undo()
    with open_store(repo) as store:
        store.break_lock(by="test")
    complete_task(repo, StoreRef(), tid, by="facilities-erin")
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert result.states[create] == "verified"
    assert _history(repo, plan, create) == [
        ("pending", None),
        ("transmitted", f"task {tid} for {OWNER}"),
        ("verified", f"task {tid} done by facilities-erin"),
    ]


DESK = """version: 1
name: desk
sources:
  desk:
    kind: manual
    owner: it-desk
    connection: {export: desk.csv}
    account:
      name_attribute: login
      create: {login: "{{ id }}"}
      sync: {title: "{{ title }}"}
      correlation: [login]
identities:
  ada:
    type: human
    platforms: [desk]
    attributes: {title: "Principal Engineer: Compilers"}
"""


def test_an_update_task_says_exactly_what_to_change(tmp_path: Path) -> None:
    repo = tmp_path / "desk"
    repo.mkdir()
    (repo / "accesshive.yaml").write_text(DESK)
    (repo / "desk.csv").write_text(
        "external_id,enabled,grants,login,title,last_login\nD-1,true,,ada,Engineer,\n"
    )
    assert CliRunner().invoke(main, ["sync", str(repo)]).exit_code == 0
    plan = plan_repository(repo, TODAY, store=StoreRef())
    (update,) = [o.id for o in plan.orders if o.action == "update_account"]
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    (task,) = result.tasks
    assert task.order_id == update
    assert task.assignee == "it-desk"
    assert task.description == (
        'update ada on desk: title: "Engineer" → "Principal Engineer: Compilers"'
    )


def test_marking_a_task_done_twice_keeps_who_did_it_and_records_nothing_new(
    repo: Path,
) -> None:
    plan = plan_repository(repo, TODAY, store=StoreRef())
    create = _badge(plan, "create_account", "grace.hopper")
    tid = task_id(plan.digest, create)
    apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    runner = CliRunner()
    first = runner.invoke(main, ["tasks", "done", tid, "-C", str(repo), "--by", "Fatima"])
    assert first.exit_code == 0, first.output
    after = [o for o in plan.orders if create in o.depends_on]
    waiting = sorted(o.id for o in after if o.gate is None)
    gated = sorted(o.id for o in after if o.gate is not None)
    assert waiting and gated  # her badge grants wait on her badge; server-room is gated
    assert first.output == (
        f"{tid} marked done by Fatima\n"
        f"what waited on it in plan {plan.digest[:12]} ({', '.join(waiting)}) runs at the "
        f"next `accesshive apply --auto-approve -C {repo}`, as far as the configuration "
        "still asks for it (apply plans again)\n"
        f"{', '.join(gated)} also waited on it, and run once approved (they are gated: "
        "`accesshive approvals verify` on the saved plan says who must approve)\n"
    )

    with open_store(repo) as store:
        entries = len(store.audit_entries())
        done = store.task(tid)
    assert done is not None and done.done_by == "Fatima"

    again = runner.invoke(main, ["tasks", "done", tid, "-C", str(repo), "--by", "Bob"])
    assert again.exit_code == 0, again.output
    assert again.output == (f"{tid} already done (by Fatima at {done.done_at}); nothing changed\n")
    with open_store(repo) as store:
        assert len(store.audit_entries()) == entries
        assert store.task(tid) == done


def test_a_task_nothing_waits_on_says_only_that_it_is_done(repo: Path) -> None:
    plan = plan_repository(repo, TODAY, store=StoreRef())
    create = _badge(plan, "create_account", "grace.hopper")
    apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    runner = CliRunner()
    done = runner.invoke(main, ["tasks", "done", task_id(plan.digest, create), "-C", str(repo)])
    assert done.exit_code == 0, done.output
    apply_plan(repo, plan, StoreRef(), TODAY, "ci")  # hands over the grants that waited
    grant = next(o.id for o in plan.orders if o.depends_on == (create,) and not o.gate)
    assert not [o for o in plan.orders if grant in o.depends_on]
    tid = task_id(plan.digest, grant)
    last = runner.invoke(main, ["tasks", "done", tid, "-C", str(repo), "--by", "Fatima"])
    assert last.output == f"{tid} marked done by Fatima\n", last.output
