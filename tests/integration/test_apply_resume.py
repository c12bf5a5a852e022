"""kill -9 in the middle of apply loses nothing: re-running continues where it stopped."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.planfile import write_plan
from accesshive.store import open_store

TODAY = dt.date(2026, 11, 29)
PEOPLE = 100

PROJECT = """version: 1
name: resume
"""
SOURCES = """sources:
  app:
    kind: sql
    concurrency: 4
    connection:
      url: sqlite:///app.db
      create_tables: true
      accounts_table: users
      grants_table: memberships
      columns: {external_id: id, enabled: active, identity: owner}
      grant_columns: {account: user_id, entitlement: team}
    account:
      name_attribute: login
      create:
        login: "{{ id }}"
      sync:
        email: "{{ email }}"
      correlation: [login]
    entitlements:
      staff: {}
      builders: {}
access_profiles:
  base: {source: app, entitlements: [staff, builders]}
"""


def _repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "accesshive.yaml").write_text(PROJECT)
    (repo / "sources.yaml").write_text(SOURCES)
    people = ["identities:"]
    for n in range(PEOPLE):
        people += [
            f"  p{n:03}:",
            "    type: human",
            "    access_profiles: [base]",
            f"    attributes: {{email: p{n}@example.com}}",
        ]
    (repo / "people.yaml").write_text("\n".join(people) + "\n")
    return repo


def _verified(repo: Path) -> int:
    """How many orders the running apply has verified so far."""
    try:
        db = sqlite3.connect(repo / ".accesshive" / "default.db", timeout=1)
        try:
            return int(
                db.execute("SELECT COUNT(*) FROM order_events WHERE state = 'verified'").fetchone()[
                    0
                ]
            )
        finally:
            db.close()
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_kill_9_then_resume(tmp_path: Path, seed: int) -> None:
    """Killed at a random point (by seed), the re-run verifies every order exactly once."""
    repo = _repo(tmp_path)
    plan = plan_repository(repo, TODAY, store=StoreRef())
    assert len(plan.orders) == PEOPLE * 3
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "accesshive",
            "apply",
            str(plan_file),
            "-C",
            str(repo),
            "--today",
            TODAY.isoformat(),
            "--format",
            "json",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    # let it get into the work: orders are sent and verified in batches, so a kill
    # lands between batches, inside one (transmitted, executed) or inside a commit
    kill_after = random.Random(seed).randint(5, 250)
    while _verified(repo) < kill_after and time.time() < deadline:
        assert proc.poll() is None, "apply finished before it could be killed; make it bigger"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    with open_store(repo) as store:
        before = store.order_states(plan.digest)
        lock = store.lock_info()
    verified_first = {oid for oid, s in before.items() if s.state == "verified"}
    interrupted = {oid for oid, s in before.items() if s.state in ("transmitted", "executed")}
    assert 0 < len(verified_first) < len(plan.orders)
    assert lock is not None  # the killed run still holds the SQLite lock
    with open_store(repo) as store:
        store.break_lock(by="test")

    result = apply_plan(repo, plan, StoreRef(), TODAY, "resume")
    assert result.status == "complete", result.messages

    with open_store(repo) as store:
        run_ids = [r["id"] for r in store.runs(plan.digest)]
        second = run_ids[-1]
        rows = store._execute(
            "SELECT order_id, state, message FROM order_events WHERE run_id = ?", (second,)
        )
    # a verified order is never touched again
    assert not ({r[0] for r in rows} & verified_first)
    found_done = {r[0] for r in rows if r[2] == "found done on the target after a restart"}
    assert found_done <= interrupted

    app = sqlite3.connect(repo / "app.db")
    assert app.execute("SELECT COUNT(*), COUNT(DISTINCT login) FROM users").fetchone() == (
        PEOPLE,
        PEOPLE,
    )
    assert app.execute("SELECT COUNT(*) FROM memberships").fetchone() == (PEOPLE * 2,)
    assert plan_repository(repo, TODAY, store=StoreRef()).orders == ()
