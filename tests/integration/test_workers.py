"""``apply --workers``: three ``accesshive worker`` processes on one PostgreSQL store run a
plan's orders against a real SCIM server; one worker is SIGKILLed in the middle of a job.

The kill is placed by counting, not by a clock: the SCIM server holds every write after
the first few (a gate in front of it), so the workers stop with orders ``transmitted``;
the test kills a worker that has such an order, then opens the gate. The dead worker's
job must be taken over by another worker (its procrastinate job runs a second time),
which looks on the target before sending anything again. At the end the target holds
each account once and each grant once, every order is verified but the gated one (never
run: its grant is not on the target), each account was created by exactly one request,
a source never had more requests under way than its ``concurrency`` across the three
workers, and the audit chain is intact.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from accesshive.audit.verify import verify_log
from accesshive.cli import main
from accesshive.errors import EXIT_WAITING
from accesshive.plan.planfile import read_plan
from accesshive.store import open_store
from tests.conftest import EXAMPLES
from tests.support.scim_server import ScimServer
from tests.support.scim_sources import design_repo, design_source, people_yaml
from tests.support.workers import Gate, Worker, apply_workers_argv, planned, until

PEOPLE = 30
CONCURRENCY = 4
HELD_AFTER = 6
"""Writes the SCIM server lets through before it holds the rest (until the kill)."""


def _repo(tmp_path: Path, url: str) -> Path:
    """The source ``design`` at ``url``; PEOPLE people in Sales and one more, an admin."""
    design = design_source(url, concurrency=CONCURRENCY)
    return design_repo(tmp_path, design, people_yaml(PEOPLE + 1, admin_last=True))


def test_three_workers_one_killed_apply_every_order_once(
    tmp_path: Path, design_scim: ScimServer, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGN_SCIM_TOKEN", design_scim.token)
    root = _repo(tmp_path, design_scim.url)
    plan = read_plan(planned(root, ["--store", postgres_db]))
    gated = [o for o in plan.orders if o.gate is not None]
    assert len(plan.orders) == 2 * (PEOPLE + 1) + 1 and len(gated) == 1

    gate = Gate(design_scim.running.server.get_app(), HELD_AFTER)
    design_scim.running.server.set_app(gate)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [Worker(root, postgres_db, env) for _ in range(3)]
    apply = subprocess.Popen(
        apply_workers_argv(root / "plan.json", root, postgres_db, "--takeover-after", "2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    procs = [apply, *(w.proc for w in workers)]
    try:
        until(
            lambda: gate.held > 0 and any(w.transmitted() for w in workers),
            "a worker holding transmitted orders",
            procs,
        )
        victim = next(w for w in workers if w.transmitted())
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        gate.opened.set()
        out, err = apply.communicate(timeout=300)
    finally:
        gate.opened.set()
        if apply.poll() is None:
            apply.kill()
        logs = [w.stop() for w in workers]
    assert apply.returncode == EXIT_WAITING, err + "\n".join(logs)
    result = json.loads(out)
    states = {oid: o["state"] for oid, o in result["orders"].items()}
    assert states == {o.id: "awaiting_approval" if o.gate else "verified" for o in plan.orders}, err

    # the target: every account once, each in staff, nobody in the gated admins group
    users = design_scim.http().get("Users", params={"count": 1000}).json()["Resources"]
    names = Counter(u["userName"] for u in users)
    assert names == Counter(f"person{n:03d}@quickstart.example" for n in range(PEOPLE + 1))
    assert gate.created == PEOPLE + 1  # each account created by one request, never two
    groups = {g["displayName"]: g for g in design_scim.http().get("Groups").json()["Resources"]}
    assert sorted(m["value"] for m in groups["staff"].get("members", [])) == sorted(
        u["id"] for u in users
    )
    assert not groups["admins"].get("members")
    assert gate.most <= CONCURRENCY  # across three workers, never more than the source allows

    # the store: every order verified (but the gated one), the audit chain intact, and
    # the dead worker's job was run again by another worker
    with open_store(root, url=postgres_db) as store:
        recorded = {oid: e.state for oid, e in store.order_states(plan.digest).items()}
        assert recorded == states
        report = verify_log(store)
        assert not report.problems, report.problems
    with psycopg.connect(postgres_db) as conn:
        row = conn.execute("SELECT max(attempts) FROM procrastinate_jobs").fetchone()
    assert row is not None and row[0] >= 2, "no job was taken over from the killed worker"


def test_workers_need_the_postgresql_store_and_nothing_runs_without_it(tmp_path: Path) -> None:
    """With the default SQLite store, ``apply --workers`` is refused before anything is
    locked, recorded or sent, saying what to do."""
    root = tmp_path / "org"
    shutil.copytree(EXAMPLES / "quickstart", root, ignore=shutil.ignore_patterns(".accesshive"))
    runner = CliRunner()
    planned = runner.invoke(main, ["plan", str(root), "--out", str(root / "plan.json")])
    assert planned.exit_code in (0, 2), planned.output
    refused = runner.invoke(
        main, ["apply", str(root / "plan.json"), "-C", str(root), "--workers", "--format", "json"]
    )
    assert refused.exit_code == 1, refused.output
    error = json.loads(refused.output)["error"]
    assert "PostgreSQL store" in error["message"] and "--store" in error["message"]
    # in text, the refusal is all it says: nothing about waiting for workers first
    for command in (["apply", str(root / "plan.json"), "-C", str(root)], ["sync", str(root)]):
        told = runner.invoke(main, [*command, "--workers"])
        assert told.exit_code == 1, told.output
        assert "PostgreSQL store" in told.output, told.output
        assert "waiting for them" not in told.output and "worker` processes" not in told.output
    with open_store(root) as store:
        assert store.latest_run() is None
    assert not (root / ".accesshive" / "wiki-app.db").exists()
