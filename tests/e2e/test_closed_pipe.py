"""A reader that goes away (`accesshive apply ... | head -1`): the command stops writing,
quietly, and ends with 141 (as a tool killed by SIGPIPE), but what it does is done and
recorded in full. Real processes and a real pipe whose reader is closed before the
command writes a byte; the quickstart's real SQLite wiki and store."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

TODAY = ["--today", "2026-11-29"]
EXIT_PIPE = 141


def _accesshive(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accesshive", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "ACCESSHIVE_ACTOR": "ci"},
        check=False,
    )


def _into_closed_pipe(*args: str, cwd: Path, stderr_too: bool = False) -> tuple[int, str]:
    """Run with stdout (and, with ``stderr_too``, stderr: ``2>&1``) a pipe nobody reads:
    its read end is closed before the command starts writing."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the first write
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "accesshive", *args],
            cwd=cwd,
            stdout=writer,
            stderr=writer if stderr_too else subprocess.PIPE,
            env={**os.environ, "ACCESSHIVE_ACTOR": "ci"},
        )
    finally:
        os.close(writer)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, (err or b"").decode()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    synced = _accesshive("sync", cwd=dest)
    assert synced.returncode == 0, synced.stderr
    return dest


@pytest.mark.parametrize("stderr_too", [False, True], ids=["stdout", "stdout-and-stderr"])
def test_apply_into_a_closed_pipe_still_applies_and_records_everything(
    repo: Path, stderr_too: bool
) -> None:
    code, err = _into_closed_pipe(
        "apply", ".", "--auto-approve", *TODAY, cwd=repo, stderr_too=stderr_too
    )
    assert code == EXIT_PIPE, err
    assert err == ""  # no "Error: Broken pipe", no traceback
    # everything was sent and recorded: the wiki has its accounts, the store its run
    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        logins = {row[0] for row in db.execute("SELECT login FROM users")}
    assert logins == {"ada.lovelace", "grace.hopper"}
    status = _accesshive("status", "--format", "json", *TODAY, cwd=repo)
    assert status.returncode == 0, status.stderr
    by_id = {s["identity"]: s["status"] for s in json.loads(status.stdout)}
    assert by_id["ada.lovelace"] == "provisioned"
    assert by_id["grace.hopper"] == "pending"  # its gated grant and badge tasks wait
    audit = _accesshive("audit", "export", "--format", "jsonl", cwd=repo)
    events = [json.loads(line)["event"] for line in audit.stdout.splitlines()]
    assert events.count("apply_started") == events.count("apply_finished") == 1
    # a second apply finds it done: nothing lost, nothing half-applied
    again = _accesshive("apply", ".", "--auto-approve", "--format", "json", *TODAY, cwd=repo)
    states = {o["state"] for o in json.loads(again.stdout)["orders"].values()}
    assert "error" not in states and "errored" not in states, again.stdout


@pytest.mark.parametrize(
    "args",
    [["status", *TODAY], ["plan", *TODAY], ["validate"], ["status", "grace.hopper", *TODAY]],
    ids=["status", "plan", "validate", "status-identity"],
)
def test_reading_commands_into_a_closed_pipe_end_quietly(repo: Path, args: list[str]) -> None:
    code, err = _into_closed_pipe(*args, cwd=repo)
    assert (code, err) == (EXIT_PIPE, "")
