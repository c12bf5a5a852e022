"""The same with ``apply --workers``: the workers resolve the token (in their own
processes) and record the orders' states, so they redact; the apply process reports
the run from the store. Two ``accesshive worker`` processes against scim2-server
behind the gateway that echoes the token; the store is PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.conftest import EXAMPLES
from tests.integration.test_secret_redaction_scim import FORMS, TOKEN, _clear, echoing_gateway
from tests.support.scim_sources import ACCESS, design_source

SHOWN = "[redacted: ${env:DESIGN_SCIM_TOKEN}]"
PEOPLE = 12


def _repo(tmp_path: Path, url: str) -> Path:
    root = tmp_path / "org"
    (root / "sources").mkdir(parents=True)
    shutil.copy(EXAMPLES / "quickstart" / "accesshive.yaml", root)
    design = design_source(
        url, concurrency=2, retry="{attempts: 2, initial_delay: 0.01, max_delay: 0.02}"
    )
    (root / "sources" / "design.yaml").write_text(design)
    (root / "access.yaml").write_text(ACCESS)
    lines = ["identities:"]
    for n in range(PEOPLE):
        lines += [
            f"  person{n:02d}:",
            "    type: human",
            "    attributes:",
            "      given_name: Person",
            f"      family_name: Test{n:02d}",
            f"      email: person{n:02d}@quickstart.example",
            "      department: Sales",
        ]
    (root / "identities").mkdir()
    (root / "identities" / "people.yaml").write_text("\n".join(lines) + "\n")
    return root


def test_workers_redact_a_token_the_target_echoes(tmp_path: Path, postgres_db: str) -> None:
    with echoing_gateway() as gateway:
        root = _repo(tmp_path, gateway.url)
        _apply_with_workers(tmp_path, root, postgres_db)
        assert gateway.passed > 6  # the gateway did answer with the token


def _apply_with_workers(tmp_path: Path, root: Path, postgres_db: str) -> None:
    env = {**os.environ, "DESIGN_SCIM_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    store = ["-C", str(root), "--store", postgres_db]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "accesshive", *args, *store],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )

    assert run("sync").returncode == 0
    plan = str(root / "plan.json")
    assert run("plan", "--out", plan).returncode in (0, 2)
    logs = [tmp_path / f"worker{n}.log" for n in range(2)]
    workers = []
    for log in logs:
        with log.open("w") as out:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "accesshive", "worker", *store, "--heartbeat", "0.5"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    text=True,
                    env=env,
                )
            )
    try:
        applied = run("apply", plan, "--workers", "--format", "json")
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    output = applied.stdout + applied.stderr
    assert applied.returncode == 1, output
    _clear(output, "apply --workers' output")
    assert SHOWN in output
    for log in logs:
        _clear(log.read_text(), log.name)
    _clear(run("audit", "export").stdout, "audit export")

    with psycopg.connect(postgres_db) as db:
        messages = [r[0] for r in db.execute("SELECT message FROM order_events") if r[0]]
        details = [str(r[0]) for r in db.execute("SELECT details FROM audit")]
    assert any(SHOWN in m for m in messages)
    for text in (*messages, *details):
        assert not any(form in text for form in FORMS), text
