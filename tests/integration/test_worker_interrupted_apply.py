"""An ``apply --workers`` stopped before its jobs ran (a CI job cancelled: SIGTERM) leaves
nothing queued: a worker started later must not run a stopped apply's jobs with no apply
to collect them (a fresh-user trial saw one create an account an hour later). The run is
recorded as crashed, not ``running`` for ever, and nothing reached the target. Real
PostgreSQL store, the quickstart's real SQLite wiki, ``accesshive apply`` as a process."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import psycopg

from accesshive.store import open_store
from tests.support.workers import Worker, apply_workers_argv, planned, until


def _jobs(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs "
            "WHERE queue_name = 'accesshive.default' GROUP BY status"
        ).fetchall()
    return {str(status): int(n) for status, n in rows}


def _queued(url: str) -> bool:
    try:
        return _jobs(url).get("todo", 0) > 0
    except psycopg.errors.UndefinedTable:
        return False  # the queue's tables are not made yet


def test_a_terminated_apply_withdraws_its_queued_jobs(quickstart: Path, postgres_db: str) -> None:
    store = ["--store", postgres_db]
    plan_file = planned(quickstart, store)
    # no worker runs: the jobs stay queued until apply is stopped
    apply = subprocess.Popen(
        apply_workers_argv(plan_file, quickstart, postgres_db),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        until(lambda: _queued(postgres_db), "apply queued its jobs", [apply])
        apply.send_signal(signal.SIGTERM)
        _, err = apply.communicate(timeout=60)
    finally:
        if apply.poll() is None:
            apply.kill()
            apply.communicate()
    assert apply.returncode != 0, err
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
