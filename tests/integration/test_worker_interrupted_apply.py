"""An ``apply --workers`` stopped before its jobs ran (a CI job cancelled: SIGTERM) leaves
nothing queued: a worker started later must not run a stopped apply's jobs with no apply
to collect them (a fresh-user trial saw one create an account an hour later). The run is
recorded as crashed, not ``running`` for ever, and nothing reached the target. Real
PostgreSQL store, the quickstart's real SQLite wiki, ``accesshive apply`` as a process."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import psycopg

from accesshive.store import open_store
from tests.support.workers import Worker, apply_workers_argv, planned, until


def _jobs(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs "
            "WHERE queue_name LIKE 'accesshive.default.orders.%' GROUP BY status"
        ).fetchall()
    return {str(status): int(n) for status, n in rows}


def _workers(url: str) -> int:
    """The workers procrastinate knows alive (each heartbeats into its table)."""
    try:
        with psycopg.connect(url) as conn:
            return int(conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0])
    except psycopg.errors.UndefinedTable:
        return 0


def _queued(url: str) -> bool:
    try:
        return _jobs(url).get("todo", 0) > 0
    except psycopg.errors.UndefinedTable:
        return False  # the queue's tables are not made yet


def test_a_terminated_apply_withdraws_its_queued_jobs(quickstart: Path, postgres_db: str) -> None:
    store = ["--store", postgres_db]
    plan_file = planned(quickstart, store)
    # no worker runs: the jobs stay queued, apply says so, until it is stopped
    apply = subprocess.Popen(
        apply_workers_argv(plan_file, quickstart, postgres_db, "--takeover-after", "1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(apply.stderr or []), daemon=True)
    reader.start()
    try:
        until(lambda: _queued(postgres_db), "apply queued its jobs", [apply])
        until(lambda: any("no worker has taken a job" in ln for ln in said), "told", [apply])
        apply.send_signal(signal.SIGTERM)
        apply.wait(timeout=60)
        reader.join(timeout=10)
        err = "".join(said)
    finally:
        if apply.poll() is None:
            apply.kill()
            apply.wait()
        for stream in (apply.stdout, apply.stderr):
            if stream is not None:
                stream.close()
    assert apply.returncode != 0, err
    told = next(ln for ln in said if "no worker has taken a job" in ln)
    assert "of the queue accesshive.default.orders." in told and "accesshive worker" in told
    jobs = _jobs(postgres_db)
    assert jobs.get("todo", 0) == 0, jobs
    assert jobs.get("cancelled", 0) > 0, jobs
    with open_store(quickstart, url=postgres_db) as opened:
        run = opened.latest_run()
    assert run is not None and run["status"] == "crashed", run
    wiki = quickstart / ".accesshive" / "wiki-app.db"
    if wiki.exists():  # the wiki was read (apply's live read), never written
        with sqlite3.connect(wiki) as db:
            assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0


def test_its_hints_keep_workers(quickstart: Path, postgres_db: str) -> None:
    """An apply on workers that ends with orders waiting for review says how to apply again
    on workers: a hint without ``--workers`` would run the rest in one process."""
    plan_file = planned(quickstart, ["--store", postgres_db])
    worker = Worker(quickstart, postgres_db, dict(os.environ))
    argv = apply_workers_argv(plan_file, quickstart, postgres_db, "--takeover-after", "5")
    try:  # in text: as a user reads it
        done = subprocess.run(argv[:-2], capture_output=True, text=True, timeout=300)
    finally:
        worker.stop()
    output = done.stdout + done.stderr
    assert done.returncode == 6, output  # the gated grants wait
    hints = re.findall(r"`(accesshive apply [^`]*)`", output)
    assert hints, output
    assert all("--workers" in h.split() for h in hints), hints


def test_a_worker_of_another_commit_never_takes_the_plan_s_jobs(
    quickstart: Path, postgres_db: str, tmp_path: Path
) -> None:
    """A rolling update: a worker still at the previous commit beside the new plan. It
    took the plan's jobs and failed them, failing the whole apply; now each configuration
    has its own queue: the old worker leaves them, the new one runs them."""
    old = tmp_path / "old"
    shutil.copytree(quickstart, old)
    project = old / "accesshive.yaml"
    project.write_text(project.read_text().replace("Quick-start organisation", "Last week's"))
    plan_file = planned(quickstart, ["--store", postgres_db])
    stale = Worker(old, postgres_db, dict(os.environ))
    until(lambda: _workers(postgres_db) == 1, "the old worker is up", [stale.proc])
    argv = apply_workers_argv(plan_file, quickstart, postgres_db, "--takeover-after", "5")
    apply = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    current = None
    try:
        until(lambda: _queued(postgres_db), "apply queued its jobs", [apply, stale.proc])
        time.sleep(2)  # many polls of the old worker's (its queue, every 0.5 s at most)
        assert _jobs(postgres_db).get("todo", 0) > 0  # left for a worker of this commit
        current = Worker(quickstart, postgres_db, dict(os.environ))
        _, err = apply.communicate(timeout=300)
    finally:
        if apply.poll() is None:
            apply.kill()
            apply.communicate()
        said = stale.stop()
        if current is not None:
            current.stop()
    assert apply.returncode == 6, err  # done, but the gated grants wait
    assert not stale.states  # the old worker ran no order of this plan
    assert "StalePlanError" not in said and "another commit" not in said
    assert current is not None and "verified" in current.states.values()
