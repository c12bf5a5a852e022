"""Sync on workers: two ``accesshive worker`` processes on a real PostgreSQL store read two
real SCIM servers, one job per source, while the sync waits; each source's snapshot is
all or nothing.

First sync: both sources read by the workers (their jobs succeeded in the queue), each
snapshot holding every account of its server. Then one server is really stopped and
the other gets an account more: the second sync (``accesshive sync --workers``, as a
user runs it) stores the running source's new
snapshot, and for the stopped one nothing, saying why, its first snapshot still the
latest (the same fingerprint).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest

from accesshive.errors import EXIT_PARTIAL
from accesshive.operations import StoreRef
from accesshive.operations.state import sync_repository
from accesshive.store import open_store
from accesshive.workers.engine import Workers, ensure_schema
from tests.support import postgres
from tests.support.scim_server import ScimServer, scim_server
from tests.support.scim_sources import scim_source
from tests.support.workers import worker_argv

pytestmark = pytest.mark.skipif(not postgres.available(), reason="PostgreSQL not installed")

PROJECT = """version: 1
name: sync-workers
identity_attributes:
  email: {type: email, required: true}
"""


@pytest.fixture
def targets() -> Iterator[dict[str, ScimServer]]:
    with scim_server("token-design") as design, scim_server("token-sales") as sales:
        for n in range(5):
            design.create_user(f"d{n}@example.com")
        for n in range(3):
            sales.create_user(f"s{n}@example.com")
        yield {"design": design, "sales": sales}


def _repo(root: Path, targets: dict[str, ScimServer]) -> Path:
    (root / "sources").mkdir(parents=True)
    (root / "accesshive.yaml").write_text(PROJECT)
    for name, server in targets.items():
        (root / "sources" / f"{name}.yaml").write_text(
            scim_source(name, server.url, retry="{attempts: 1}")
        )
    return root


def _worker(root: Path, store: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        worker_argv(root, store, "--heartbeat", "0.5", "--concurrency", "1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "worker: running jobs of queue ..." once it takes jobs
    assert "running jobs" in line, line + proc.stderr.read()
    return proc


def _latest(store: str) -> dict[str, tuple[str, int]]:
    """source → (fingerprint, accounts) of its latest snapshot."""
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT source, fingerprint, accounts FROM snapshots s WHERE id = "
            "(SELECT MAX(id) FROM snapshots t WHERE t.source = s.source)"
        ).fetchall()
    return {source: (fingerprint, accounts) for source, fingerprint, accounts in rows}


def test_workers_read_the_sources_and_a_failed_read_stores_nothing(
    tmp_path: Path,
    postgres_db: str,
    targets: dict[str, ScimServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESIGN_SCIM_TOKEN", "token-design")
    monkeypatch.setenv("SALES_SCIM_TOKEN", "token-sales")
    root = _repo(tmp_path / "org", targets)
    ensure_schema(postgres_db)
    ref = StoreRef(None, postgres_db)
    workers = [_worker(root, postgres_db) for _ in range(2)]
    told: list[tuple[str, int]] = []
    try:
        first = sync_repository(
            root, ref, None, lambda s, n, t: told.append((s, n)), "test", Workers(5.0)
        )
        assert [(r.source, r.ok, r.accounts) for r in first] == [
            ("design", True, 5),
            ("sales", True, 3),
        ]
        assert sorted(told) == [("design", 5), ("sales", 3)]
        with psycopg.connect(postgres_db) as conn:
            jobs = conn.execute(
                "SELECT args->>'source', status::text FROM procrastinate_jobs "
                "WHERE queue_name = 'accesshive.default.sync' ORDER BY 1"
            ).fetchall()
        assert jobs == [("design", "succeeded"), ("sales", "succeeded")]
        before = _latest(postgres_db)
        assert before["design"][1] == 5 and before["sales"][1] == 3

        targets["sales"].stop()
        targets["design"].create_user("d5@example.com")
        # the second sync as a user runs it: `accesshive sync --workers`
        done = subprocess.run(
            [
                *(sys.executable, "-m", "accesshive", "sync", "-C", str(root)),
                *("--store", postgres_db, "--workers", "--takeover-after", "5"),
                *("--format", "json"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == EXIT_PARTIAL, done.stderr
        second = [SimpleNamespace(**r) for r in json.loads(done.stdout)]
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
    design, sales = second
    assert (design.source, design.ok, design.accounts) == ("design", True, 6)
    assert (sales.source, sales.ok) == ("sales", False)
    assert sales.error is not None and "cannot reach" in sales.error
    with open_store(root, url=postgres_db) as store:
        kept = {i.source: i.read_at for i in store.snapshot_info()}
    assert sales.kept == kept["sales"]
    after = _latest(postgres_db)
    assert after["sales"] == before["sales"]  # the stopped source: its first snapshot
    assert after["design"][1] == 6 and after["design"][0] != before["design"][0]
