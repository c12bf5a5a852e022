"""Apply: exact, recoverable and honest, on the quickstart's real SQLite wiki database."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.errors import StalePlanError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.store import open_store
from tests.conftest import EXAMPLES
from tests.support.memory_connector import MemoryConnector

TODAY = dt.date(2026, 11, 29)
STORE = StoreRef()


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


def _wiki(repo: Path) -> sqlite3.Connection:
    return sqlite3.connect(repo / ".accesshive" / "wiki-app.db")


def _sync_and_plan(repo: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    assert runner.invoke(main, ["sync", str(repo)]).exit_code == 0
    return plan_repository(repo, TODAY, store=STORE)


def test_apply_provisions_and_converges(repo: Path) -> None:
    plan = _sync_and_plan(repo)
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    wiki_orders = [o for o in plan.orders if o.change.source == "wiki"]
    states = {o.id: result.states[o.id] for o in wiki_orders}
    gated = {o.id for o in wiki_orders if o.gate}
    assert {s for oid, s in states.items() if oid not in gated} == {"verified"}
    assert {states[g] for g in gated} == {"awaiting_approval"}
    rows = (
        _wiki(repo)
        .execute("SELECT login, email, active, accesshive_identity FROM users ORDER BY login")
        .fetchall()
    )
    assert rows == [
        ("ada.lovelace", "ada.lovelace@quickstart.example", 1, "ada.lovelace"),
        ("grace.hopper", "grace.hopper@quickstart.example", 1, "grace.hopper"),
    ]
    again = plan_repository(repo, TODAY, store=STORE)
    # what is left: the gated grant and the badge tasks a person still has to do
    assert {(o.change.source, o.action) for o in again.orders if o.kind != "manual_task"} == {
        ("wiki", "grant")
    }


def test_reapplying_repeats_nothing(repo: Path) -> None:
    plan = _sync_and_plan(repo)
    apply_plan(repo, plan, STORE, TODAY, "ci")
    apply_plan(repo, plan, STORE, TODAY, "ci")
    with open_store(repo) as store:
        for order in plan.orders:
            executed = [
                s for s in store.order_history(plan.digest, order.id) if s.state == "executed"
            ]
            assert len(executed) <= 1, order.id
    assert _wiki(repo).execute("SELECT COUNT(*) FROM users").fetchone() == (2,)


def test_manual_orders_become_tasks_with_files(repo: Path) -> None:
    plan = _sync_and_plan(repo)
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    assert [t.source for t in result.tasks] == ["badges"]
    task = result.tasks[0]
    assert task.assignee == "facilities@quickstart.example"
    out = repo / ".accesshive" / "runs" / str(result.run_id)
    assert task.id in (out / "tasks.md").read_text()
    assert "create_account" in (out / "tasks.csv").read_text()
    # the grants that need the badge account wait for the task
    held = [
        o for o in plan.orders if o.change.source == "badges" and o.action == "grant" and not o.gate
    ]
    assert {result.states[o.id] for o in held} == {"pending"}


def test_stale_plan_is_refused_and_says_why(repo: Path) -> None:
    plan = _sync_and_plan(repo)
    apply_plan(repo, plan, STORE, TODAY, "ci")
    fresh = plan_repository(repo, TODAY, store=STORE)
    db = _wiki(repo)
    # out of band: someone makes ada a wiki admin, which config does not grant
    (ada,) = db.execute("SELECT id FROM users WHERE login = 'ada.lovelace'").fetchone()
    db.execute("INSERT INTO user_groups VALUES (?, 'wiki-admins')", (ada,))
    db.commit()
    with pytest.raises(StalePlanError) as info:
        apply_plan(repo, fresh, STORE, TODAY, "ci")
    assert "wiki changed since it was made" in str(info.value)
    assert "new work on wiki not in the plan: revoke for ada.lovelace" in str(info.value)


def test_harmless_change_does_not_stop_apply(repo: Path) -> None:
    plan = _sync_and_plan(repo)
    db = _wiki(repo)
    db.execute("INSERT INTO users (login, email, active) VALUES ('intern', 'i@x.example', 1)")
    db.commit()
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    wiki = [o for o in plan.orders if o.change.source == "wiki"]
    assert {o.id: result.states[o.id] for o in wiki} == {
        o.id: "awaiting_approval" if o.gate else "verified" for o in wiki
    }
    logins = {r[0] for r in _wiki(repo).execute("SELECT login FROM users")}
    assert logins == {"intern", "ada.lovelace", "grace.hopper"}  # the intern left alone


def test_changed_config_refuses_the_plan(repo: Path) -> None:
    plan = _sync_and_plan(repo)
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("Staff Engineer", "Principal Engineer"))
    with pytest.raises(StalePlanError, match="configuration changed since this plan was made"):
        apply_plan(repo, plan, STORE, TODAY, "ci")


def test_target_rewriting_data_fails_verification(repo: Path) -> None:
    _sync_and_plan(repo)
    db = _wiki(repo)
    db.execute(
        "CREATE TRIGGER rename AFTER INSERT ON users BEGIN "
        "UPDATE users SET full_name = 'Anonymous' WHERE id = NEW.id; END"
    )
    db.commit()
    plan = plan_repository(repo, TODAY, store=STORE)
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    creates = [o for o in plan.orders if o.action == "create_account" and o.change.source == "wiki"]
    for order in creates:
        assert result.states[order.id] == "errored"
        assert "verify: full_name: expected" in result.messages[order.id]
        assert "target has 'Anonymous'" in result.messages[order.id]
    # the grants below a failed create are blocked, never attempted
    grants = [
        o for o in plan.orders if o.action == "grant" and o.change.source == "wiki" and not o.gate
    ]
    assert grants and {result.states[o.id] for o in grants} == {"blocked"}


def _memory_wiki(repo: Path, **fail: object) -> None:
    wiki = repo / "sources" / "wiki.yaml"
    text = (EXAMPLES / "quickstart" / "sources" / "wiki.yaml").read_text()
    settings = f"      connector: memory\n      store: {repo.name}-{uuid.uuid4().hex}\n"
    settings += f"      fail: {json.dumps(fail)}\n"
    text = text.replace("    connection:\n", "    connection:\n" + settings)
    text = text.replace(
        "    owner: it-ops\n",
        "    owner: it-ops\n    retry: {attempts: 4, initial_delay: 0.01, max_delay: 0.05}\n",
    )
    wiki.write_text(text)


def test_retryable_errors_are_retried_then_succeed(repo: Path) -> None:
    MemoryConnector.failures.clear()
    MemoryConnector.fired.clear()
    _memory_wiki(
        repo, grant={"message": "HTTP 503 Service Unavailable", "retryable": True, "times": 2}
    )
    plan = _sync_and_plan(repo)
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    grants = [
        o for o in plan.orders if o.action == "grant" and o.change.source == "wiki" and not o.gate
    ]
    assert {result.states[o.id] for o in grants} == {"verified"}, result.messages
    with open_store(repo) as store:
        notes = [s.message or "" for o in grants for s in store.order_history(plan.digest, o.id)]
    assert sum("HTTP 503 Service Unavailable" in n and "retrying in" in n for n in notes) == 2


def test_non_retryable_error_fails_at_once_with_the_target_message(repo: Path) -> None:
    MemoryConnector.failures.clear()
    MemoryConnector.fired.clear()
    _memory_wiki(repo, grant={"message": "403 Forbidden: scope groups.write missing"})
    plan = _sync_and_plan(repo)
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    grants = [
        o for o in plan.orders if o.action == "grant" and o.change.source == "wiki" and not o.gate
    ]
    assert {result.messages[o.id] for o in grants} == {"403 Forbidden: scope groups.write missing"}
    assert MemoryConnector.failures[("wiki", "grant")] == len(grants)  # one attempt each


def test_source_specific_retryable_errors(repo: Path) -> None:
    MemoryConnector.failures.clear()
    MemoryConnector.fired.clear()
    _memory_wiki(repo, grant={"message": "ERR_REPLICA_LAG try later", "times": 1})
    wiki = repo / "sources" / "wiki.yaml"
    wiki.write_text(
        wiki.read_text().replace(
            "retry: {attempts: 4,", "retry: {errors: ['REPLICA_LAG'], attempts: 4,"
        )
    )
    plan = _sync_and_plan(repo)
    result = apply_plan(repo, plan, STORE, TODAY, "ci")
    orders = [o for o in plan.orders if o.change.source == "wiki"]
    assert {o.id: result.states[o.id] for o in orders} == {
        o.id: "awaiting_approval" if o.gate else "verified" for o in orders
    }
    # the fault fired once, and that grant was retried under the source's own pattern
    assert MemoryConnector.fired[("wiki", "grant")] == 1
    with open_store(repo) as store:
        notes = [s.message or "" for o in orders for s in store.order_history(plan.digest, o.id)]
    assert sum("ERR_REPLICA_LAG try later" in n and "retrying in" in n for n in notes) == 1


def test_cli_apply_requires_a_plan_or_auto_approve(repo: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(main, ["apply", str(repo)])
    assert refused.exit_code == 2
    assert "--auto-approve" in refused.output
    assert runner.invoke(main, ["sync", str(repo)]).exit_code == 0
    done = runner.invoke(main, ["apply", str(repo), "--auto-approve", "--format", "json"])
    assert done.exit_code == 6, done.output  # nothing failed; orders wait for approval
    payload = json.loads(done.stdout)
    assert payload["status"] == "incomplete"
    status = runner.invoke(main, ["status", "-C", str(repo), "--format", "json"])
    by_id = {s["identity"]: s["status"] for s in json.loads(status.stdout)}
    assert by_id["ada.lovelace"] == "provisioned"
    assert by_id["grace.hopper"] == "pending"


def test_auto_approve_reads_the_repository_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plan and apply in one go share one load and expand: on a large org each costs
    seconds, and a repository that changed in between must not mix two versions."""
    from accesshive.operations import _common

    loads: list[Path] = []
    real = _common.load_config

    def counted(root: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        loads.append(root)
        return real(root, *args, **kwargs)  # type: ignore[arg-type]

    runner = CliRunner()
    assert runner.invoke(main, ["sync", str(repo)]).exit_code == 0
    monkeypatch.setattr(_common, "load_config", counted)
    done = runner.invoke(main, ["apply", str(repo), "--auto-approve", "--format", "json"])
    assert done.exit_code == 6, done.output
    assert len(loads) == 1


def test_a_plan_from_the_store_carries_the_fingerprints_of_what_it_read(repo: Path) -> None:
    """The store's own fingerprints (saved with each snapshot) are the plan's: the
    same as fingerprinting the content again, which apply's staleness check does."""
    plan = _sync_and_plan(repo)
    with open_store(repo) as store:
        assert plan.fingerprints == store.latest_snapshot().fingerprints()
        assert plan.fingerprints == {i.source: i.fingerprint for i in store.snapshot_info()}
    assert plan.fingerprints  # the quickstart's sources were read
