"""Sync reads every source into the store and fails closed, source by source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.config import load_config
from accesshive.errors import ConnectorError
from accesshive.store import Task, open_store
from accesshive.sync import read_source, sync
from tests.conftest import EXAMPLES
from tests.support.memory_connector import MemoryConnector


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


def _memory_source(repo: Path, **connection: object) -> None:
    """Point the wiki source at the in-memory connector (a test double)."""
    text = (EXAMPLES / "quickstart" / "sources" / "wiki.yaml").read_text()
    settings = "".join(f"      {k}: {json.dumps(v)}\n" for k, v in connection.items())
    text = text.replace(
        "    connection:\n", f"    connection:\n      connector: memory\n{settings}"
    )
    (repo / "sources" / "wiki.yaml").write_text(text)


def _seed(name: str, count: int) -> None:
    MemoryConnector.stores[name] = {
        f"a{n}": {
            "identity": None,
            "enabled": True,
            "attributes": {"login": f"u{n}"},
            "grants": set(),
        }
        for n in range(count)
    }


def test_sync_stores_every_source(repo: Path) -> None:
    config = load_config(repo)
    with open_store(repo) as store:
        results = sync(config, store)
        assert [(r.source, r.ok, r.accounts) for r in results] == [
            ("badges", True, 3),
            ("wiki", True, 0),
        ]
        snap = store.latest_snapshot()
        assert [a.external_id for a in snap.source("badges").accounts] == [
            "B-100",
            "B-102",
            "B-107",
        ]
        assert snap.source("badges").accounts[2].grants == ["office-hq", "server-room"]
        assert store.audit_log()[-1]["event"] == "sync"


def test_failed_source_keeps_its_previous_snapshot(repo: Path) -> None:
    _memory_source(repo, store="wiki-keep")
    _seed("wiki-keep", 5)
    config = load_config(repo)
    with open_store(repo) as store:
        sync(config, store)
    # now the second page of the read breaks
    _memory_source(
        repo,
        store="wiki-keep",
        fail={"read_page": {"message": "HTTP 503 from page 2", "retryable": True}},
    )
    config = load_config(repo)
    with open_store(repo) as store:
        results = {r.source: r for r in sync(config, store)}
        assert results["badges"].ok
        assert not results["wiki"].ok
        assert "503 from page 2" in (results["wiki"].error or "")
        assert results["wiki"].kept is not None
        assert len(store.latest_snapshot().source("wiki").accounts) == 5


def test_count_mismatch_is_never_stored(repo: Path) -> None:
    _memory_source(repo, store="wiki-count", announce=7)
    _seed("wiki-count", 5)
    config = load_config(repo)
    with pytest.raises(ConnectorError, match="announced 7 accounts but 5 were read"):
        read_source(config, "wiki")


def test_manual_source_without_export_names_its_owner(repo: Path) -> None:
    (repo / "exports" / "badges.csv").unlink()
    config = load_config(repo)
    with pytest.raises(ConnectorError, match=r"ask the source owner \(facilities@quickstart"):
        read_source(config, "badges")


def test_malformed_export_points_at_the_line(repo: Path) -> None:
    path = repo / "exports" / "badges.csv"
    path.write_text(path.read_text() + ",true,office-hq,Nobody,,\n")
    config = load_config(repo)
    with pytest.raises(ConnectorError, match=r"badges.csv:5: external_id is empty"):
        read_source(config, "badges")


def test_sync_verifies_manual_tasks_the_export_shows(repo: Path) -> None:
    config = load_config(repo)
    order = {
        "action": "grant",
        "source": "badges",
        "identity": "grace.hopper",
        "name": "Grace Hopper",
        "entitlement": "office-hq",
        "attributes": {},
    }
    with open_store(repo) as store:
        store.save_task(
            Task("T-1", "p", "o", "badges", "facilities", "grant", order, "open", "now")
        )
        sync(config, store)
        assert [t.id for t in store.tasks("open")] == ["T-1"]
        export = repo / "exports" / "badges.csv"
        export.write_text(
            export.read_text()
            + "B-101,true,office-hq,Grace Hopper,grace.hopper@quickstart.example,\n"
        )
        sync(config, store)
        assert store.tasks("open") == []
        assert store.tasks()[0].done_by == "sync"


def test_cli_sync_reports_and_exits_5_on_partial_failure(repo: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["sync", str(repo)])
    assert ok.exit_code == 0, ok.output
    assert "✓ badges: 3 accounts, 4 grants" in ok.output
    (repo / "exports" / "badges.csv").unlink()
    partial = runner.invoke(main, ["sync", str(repo), "--format", "json"])
    assert partial.exit_code == 5
    results = json.loads(partial.stdout)
    assert [r["ok"] for r in results] == [False, True]
    shown = runner.invoke(main, ["state", "show", str(repo), "--format", "json"])
    state = json.loads(shown.stdout)
    assert {s["source"] for s in state["snapshots"]} == {"badges", "wiki"}
    assert state["lock"] is None


def test_cli_sync_counts_in_words_of_the_right_number(repo: Path) -> None:
    """One account with one grant reads "1 account, 1 grant", not "1 accounts"."""
    _memory_source(repo, store="wiki-one")
    _seed("wiki-one", 1)
    MemoryConnector.stores["wiki-one"]["a0"]["grants"] = {"readers"}
    synced = CliRunner().invoke(main, ["sync", str(repo)])
    assert synced.exit_code == 0, synced.output
    assert "✓ wiki: 1 account, 1 grant\n" in synced.output
    assert "✓ badges: 3 accounts, 4 grants\n" in synced.output


def test_cli_plan_uses_the_stored_snapshot(repo: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["sync", str(repo)])
    result = runner.invoke(main, ["plan", str(repo), "--format", "json", "--today", "2026-11-29"])
    plan = json.loads(result.stdout)
    assert set(plan["snapshot_fingerprints"]) == {"badges", "wiki"}
    assert [o["name"] for o in plan["orphans"]] == ["Mallory Visitor"]


def test_cli_tasks_done_is_audited(repo: Path) -> None:
    with open_store(repo) as store:
        store.save_task(
            Task("T-9", "p", "o", "badges", "facilities", "revoke hq", {}, "open", "now")
        )
    runner = CliRunner()
    listed = runner.invoke(main, ["tasks", "list", str(repo)])
    assert "T-9  [open]  badges (facilities): revoke hq" in listed.output
    done = runner.invoke(main, ["tasks", "done", "T-9", "-C", str(repo), "--by", "Fatima"])
    assert done.exit_code == 0, done.output
    with open_store(repo) as store:
        assert store.audit_log()[-1]["event"] == "task_done"
        assert store.audit_log()[-1]["actor"] == "Fatima"
    missing = runner.invoke(main, ["tasks", "done", "T-404", "-C", str(repo), "--by", "x"])
    assert missing.exit_code == 1
    assert "no manual task 'T-404'" in missing.output


def test_cli_unlock_force_records_who(repo: Path) -> None:
    with open_store(repo) as store:
        store._insert_lock(store.lock_info() or _stale(store))
    runner = CliRunner()
    result = runner.invoke(
        main, ["state", "unlock", str(repo), "--force"], env={"ACCESSHIVE_ACTOR": "oncall"}
    )
    assert result.exit_code == 0, result.output
    assert "recorded as broken by oncall" in result.output


def _stale(store):  # type: ignore[no-untyped-def]
    from accesshive.store.base import LockInfo

    return LockInfo(
        store.environment, "crashed-ci", 999999, "elsewhere", "2026-11-28T00:00:00+00:00", "apply"
    )
