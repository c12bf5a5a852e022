"""The store against both backends: SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accesshive.audit.chain import legacy_entry_hash, verify_chain
from accesshive.cli import main
from accesshive.errors import LockedError, StoreError
from accesshive.state.snapshot import SnapshotAccount, SourceSnapshot
from accesshive.store import Store, Task, open_store
from accesshive.store.migrations import LATEST, MIGRATIONS

Factory = Callable[..., Store]


@pytest.fixture(params=["sqlite", "postgresql"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    if request.param == "sqlite":
        url = str(tmp_path / "state.db")
    else:
        url = request.getfixturevalue("postgres_db")

    def factory(environment: str = "default") -> Store:
        return open_store(tmp_path, environment, url)

    factory.url = url  # type: ignore[attr-defined]
    return factory


def _snap(*names: str) -> SourceSnapshot:
    return SourceSnapshot(
        accounts=[SnapshotAccount(external_id=n, attributes={"login": n}) for n in names],
        read_at="2026-11-29T10:00:00+00:00",
    )


def test_fresh_store_is_at_the_latest_schema(make_store: Factory) -> None:
    with make_store() as store:
        assert store.schema_version() == LATEST


def test_latest_snapshot_per_source(make_store: Factory) -> None:
    with make_store() as store:
        store.save_snapshot("wiki", _snap("a"))
        fp = store.save_snapshot("wiki", _snap("a", "b"))
        store.save_snapshot("badges", _snap("x"))
        snap = store.latest_snapshot()
        assert [a.external_id for a in snap.source("wiki").accounts] == ["a", "b"]
        assert snap.fingerprints()["wiki"] == fp
        info = {i.source: i.accounts for i in store.snapshot_info()}
        assert info == {"badges": 1, "wiki": 2}


def test_environments_do_not_see_each_other(make_store: Factory) -> None:
    with make_store("sandbox") as sandbox:
        sandbox.save_snapshot("wiki", _snap("a"))
    with make_store("production") as production:
        assert production.latest_snapshot().sources == {}


def test_order_states_keep_every_transition(make_store: Factory) -> None:
    with make_store() as store:
        run = store.start_run("p1", "ci")
        for state in ("pending", "transmitted", "executed", "verified"):
            store.record_order_state(run, "p1", "o1", state)
        for state in ("pending", "transmitted"):
            store.record_order_state(run, "p1", "o2", state)
        store.record_order_state(run, "p1", "o2", "errored", "409 Conflict: uniqueness")
        store.finish_run(run, "failed")
        states = store.order_states("p1")
        assert states["o1"].state == "verified"
        assert states["o2"].message == "409 Conflict: uniqueness"
        history = [s.state for s in store.order_history("p1", "o1")]
        assert history == ["pending", "transmitted", "executed", "verified"]
        assert store.runs("p1")[0]["status"] == "failed"


def test_tasks_are_recorded_once_and_completed(make_store: Factory) -> None:
    task = Task("t1", "p1", "o1", "badges", "facilities", "grant hq", {"a": 1}, "open", "now")
    with make_store() as store:
        assert store.save_task(task)
        assert not store.save_task(task)
        assert [t.id for t in store.tasks("open")] == ["t1"]
        done = store.complete_task("t1", by="Fatima")
        assert (done.state, done.done_by) == ("verified", "Fatima")
        assert store.tasks("open") == []
        with pytest.raises(StoreError, match="no manual task 'nope'"):
            store.complete_task("nope", by="x")


def test_audit_entries_chain_their_hashes(make_store: Factory) -> None:
    with make_store() as store:
        store.audit("ci", "plan_saved", "p1", {"orders": 3})
        store.audit("ci", "apply_started", "p1", {})
        log = store.audit_log()
        assert [e["event"] for e in log] == ["plan_saved", "apply_started"]
        rows = store._execute("SELECT prev_hash, hash FROM audit ORDER BY seq")
        assert rows[0][0] is None
        assert rows[1][0] == rows[0][1]


def test_lock_is_exclusive_and_released(make_store: Factory) -> None:
    with make_store() as first, make_store() as second:
        with first.lock("alice"):
            with pytest.raises(LockedError, match=r"locked by alice \(pid \d+ on .*\) since "):
                with second.lock("bob"):
                    pass
            assert second.lock_info() is not None
        assert second.lock_info() is None
        with second.lock("bob"):
            pass


def _race(
    url: str,
    root: str,
    who: str,
    ready: Any,
    release: Any,
    results: multiprocessing.Queue[str],
) -> None:
    store = open_store(Path(root), "default", url)
    ready.wait(60)  # both processes are up and have opened the store: go together
    try:
        with store.lock(who):
            results.put(f"won:{who}")
            release.wait(60)  # held until the other has lost, however slow the machine
    except LockedError as exc:
        results.put(f"lost:{exc}")
    finally:
        store.close()


def test_two_processes_race_for_the_lock(make_store: Factory, tmp_path: Path) -> None:
    make_store().close()  # create and migrate first
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[str] = ctx.Queue()
    ready, release = ctx.Barrier(2), ctx.Event()
    procs = [
        ctx.Process(  # type: ignore[attr-defined]
            target=_race, args=(make_store.url, str(tmp_path), who, ready, release, results)
        )
        for who in ("runner-a", "runner-b")
    ]
    for p in procs:
        p.start()
    try:
        outcomes = sorted(results.get(timeout=60) for _ in procs)
    finally:
        release.set()
        for p in procs:
            p.join(30)
    assert [o.split(":")[0] for o in outcomes] == ["lost", "won"]
    assert "is locked by runner-" in outcomes[0]
    assert " since " in outcomes[0]


def _hold(url: str, root: str, ready: multiprocessing.Queue[str]) -> None:
    store = open_store(Path(root), "default", url)
    with store.lock("crasher"):
        ready.put("held")
        time.sleep(60)


def _start_holder(make_store: Factory, tmp_path: Path) -> multiprocessing.Process:
    """A real process holding the environment's lock (until killed)."""
    make_store().close()
    ctx = multiprocessing.get_context("spawn")
    ready: multiprocessing.Queue[str] = ctx.Queue()
    proc = ctx.Process(target=_hold, args=(make_store.url, str(tmp_path), ready))  # type: ignore[attr-defined]
    proc.start()
    assert ready.get(timeout=30) == "held"
    return proc  # type: ignore[return-value]


def _kill(proc: multiprocessing.Process) -> None:
    os.kill(proc.pid or 0, signal.SIGKILL)
    proc.join(10)


def test_a_killed_holders_lock_is_taken_over_audited(make_store: Factory, tmp_path: Path) -> None:
    proc = _start_holder(make_store, tmp_path)
    pid = proc.pid
    _kill(proc)
    with make_store() as store:
        if store.dialect == "postgresql":
            time.sleep(0.5)  # the server releases the advisory lock with the dead connection
        with store.lock("next"):  # no `state unlock --force` needed
            assert store.lock_info() is not None and store.lock_info().holder == "next"  # type: ignore[union-attr]
        takeover = [e for e in store.audit_log() if e["event"] == "lock_taken_over"]
        assert len(takeover) == 1
        assert takeover[0]["actor"] == "next"
        assert takeover[0]["details"]["old"]["holder"] == "crasher"
        assert takeover[0]["details"]["old"]["pid"] == pid
        assert store.lock_info() is None


def test_unlock_force_refuses_while_the_holder_runs(make_store: Factory, tmp_path: Path) -> None:
    proc = _start_holder(make_store, tmp_path)
    try:
        runner = CliRunner()
        args = ["state", "unlock", str(tmp_path), "--force", "--store", make_store.url]  # type: ignore[attr-defined]
        refused = runner.invoke(main, args)
        assert refused.exit_code == 4, refused.output
        assert f"locked by crasher (pid {proc.pid} on " in refused.output
        assert "still running on this host" in refused.output
        with make_store() as store:
            assert store.lock_info() is not None  # still held
            with pytest.raises(LockedError, match="locked by crasher"), store.lock("next"):
                pass
    finally:
        _kill(proc)
    if make_store.url.startswith("postgresql"):  # type: ignore[attr-defined]
        time.sleep(0.5)
    broken = CliRunner().invoke(main, args)
    assert broken.exit_code == 0, broken.output
    assert "released the lock (locked by crasher" in broken.output


def test_older_schema_upgrades_with_data_intact(make_store: Factory) -> None:
    with make_store() as store:
        # rebuild the store as schema version 1 left it, with data in it
        for table in (
            "snapshots",
            "plans",
            "runs",
            "order_events",
            "approvals",
            "audit",
            "locks",
            "tasks",
            "audit_cursors",
            "promotions",
            "reports",
            "sightings",
            "idp_records",
            "idp_tokens",
            "idp_unique",
            "audit_checkpoints",
            "declines",
            "notifications",
            "policies_in_force",
            "schema_version",
        ):
            store._execute(f"DROP TABLE IF EXISTS {table}")
        store._execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        with store.transaction():
            for statement in MIGRATIONS[0][1]:
                store._execute(statement.replace("{serial}", store._serial()))
            store._execute("INSERT INTO schema_version (version) VALUES (1)")
            store._execute(
                "INSERT INTO snapshots (environment, source, fingerprint, read_at, content) "
                "VALUES ('default', 'wiki', 'f', '2026-01-01', ?)",
                (_snap("old").model_dump_json(),),
            )
            store._execute(
                "INSERT INTO plans (digest, environment, created_at, config_digest, content) "
                "VALUES ('d1', 'default', 'now', 'c', '{}')"
            )
            # an audit entry hashed the way format 1 did (no environment, no seq)
            old = legacy_entry_hash(None, "2026-01-01", "ci", "plan_made", "d1", "{}")
            store._execute(
                "INSERT INTO audit (environment, at, actor, event, subject, details, "
                "prev_hash, hash) VALUES ('default', '2026-01-01', 'ci', 'plan_made', 'd1', "
                "'{}', NULL, ?)",
                (old,),
            )
    with make_store() as upgraded:
        upgraded.audit("ci", "after_upgrade", None, {})
        entries = upgraded.audit_entries()
        assert [e.event for e in entries] == ["plan_made", "after_upgrade"]
        assert verify_chain(entries) is None  # the old entry still verifies, as the start
        assert upgraded.schema_version() == LATEST
        assert [a.external_id for a in upgraded.latest_snapshot().source("wiki").accounts] == [
            "old"
        ]
        assert upgraded.plan_content("d1") == "{}"
        assert upgraded.tasks() == []


def test_newer_schema_is_refused(make_store: Factory) -> None:
    with make_store() as store, store.transaction():
        store._execute("INSERT INTO schema_version (version) VALUES (999)")
    with pytest.raises(StoreError, match="newer than this accesshive knows"):
        make_store()


def _first_use(url: str | None, root: str, ready: Any, results: multiprocessing.Queue[str]) -> None:
    ready.wait(60)  # all four are up: they open the new store together
    try:
        with open_store(Path(root), "default", url) as store:
            results.put(f"ok:{store.schema_version()}")
    except Exception as exc:
        results.put(f"failed:{exc}")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_four_processes_open_a_new_store_at_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The first `accesshive` commands of a new environment may start together (a CI
    matrix): each creates and migrates the store or waits for the one that does."""
    url = request.getfixturevalue("postgres_db") if backend == "postgresql" else None
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[str] = ctx.Queue()
    ready = ctx.Barrier(4)
    procs = [
        ctx.Process(target=_first_use, args=(url, str(tmp_path), ready, results))  # type: ignore[attr-defined]
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    try:
        outcomes = sorted(results.get(timeout=90) for _ in procs)
    finally:
        for p in procs:
            p.join(30)
    assert outcomes == [f"ok:{LATEST}"] * 4
    with open_store(tmp_path, "default", url) as store:
        rows = store._execute("SELECT version FROM schema_version ORDER BY version")
    assert [r[0] for r in rows] == [v for v, _ in MIGRATIONS]  # each migration ran once


def test_upgrade_keeps_one_open_task_per_order(
    make_store: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import accesshive.store.base as base

    tasks_by_order = 8  # the migration that made tasks one per order
    before = tuple(m for m in MIGRATIONS if m[0] < tasks_by_order)
    with monkeypatch.context() as m:
        m.setattr(base, "MIGRATIONS", before)
        m.setattr(base, "LATEST", before[-1][0])
        with make_store() as old:
            for tid, plan, at in (
                ("T-aaaaaaaa-8bf61e2d", "aaaa", "2026-11-01T00:00:00+00:00"),
                ("T-bbbbbbbb-8bf61e2d", "bbbb", "2026-11-02T00:00:00+00:00"),
            ):
                old._execute(
                    "INSERT INTO tasks (id, environment, plan_digest, order_id, source, "
                    "assignee, description, content, state, created_at) "
                    "VALUES (?, 'default', ?, '8bf61e2d6873', 'badges', 'facilities', "
                    "'create account Grace Hopper on badges', '{}', 'open', ?)",
                    (tid, plan, at),
                )
    with make_store() as store:
        by_state = {t.state: t for t in store.tasks()}
        assert set(by_state) == {"open", "cancelled"}
        assert by_state["open"].id == "T-8bf61e2d6873"  # the first one, named by its order
        assert by_state["open"].plan_digest == "aaaa"
        assert by_state["cancelled"].id == "T-bbbbbbbb-8bf61e2d"
        assert "duplicate" in (by_state["cancelled"].reason or "")
