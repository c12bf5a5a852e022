"""The report's trend compares with the report of an earlier snapshot: a re-rendering of
the same snapshot (``report --no-sync``, as the nightly job makes its JSON and Markdown
after its HTML) is not "the previous report", so the issue body shows what changed since
last night, not "no change" since the run a second earlier."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import EXAMPLES

SCRIPT = EXAMPLES / "ci" / "scripts" / "nightly-report.sh"


def _someone_adds_an_account(repo: Path, login: str) -> None:
    db = sqlite3.connect(repo / ".accesshive" / "wiki-app.db")
    db.execute("INSERT INTO users (login, email, active) VALUES (?, ?, 1)", (login, f"{login}@x"))
    db.commit()
    db.close()


def _report(repo: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["report", str(repo), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_re_renderings_compare_with_the_earlier_snapshot(synced_quickstart: Path) -> None:
    repo = synced_quickstart
    first = json.loads(_report(repo, "--format", "json"))
    _someone_adds_an_account(repo, "rogue")
    second = json.loads(_report(repo, "--format", "json"))
    assert second["trend"]["orphaned"] == 1
    again = json.loads(_report(repo, "--no-sync", "--format", "json"))
    assert again["trend"]["orphaned"] == 1
    assert again["previous"] == {"at": second["previous"]["at"], "totals": first["totals"]}
    markdown = _report(repo, "--no-sync")
    assert f"| orphaned | {second['totals']['orphaned']} | +1 |" in markdown
    assert "orphans grew by 1 since the report of" in _report(repo, "--no-sync", "--format", "text")


def test_the_next_sync_compares_with_the_last_snapshot_reported(synced_quickstart: Path) -> None:
    repo = synced_quickstart
    _report(repo, "--format", "json")
    _someone_adds_an_account(repo, "rogue")
    _report(repo, "--format", "json")
    _report(repo, "--no-sync", "--format", "json")  # a re-rendering: records nothing
    _someone_adds_an_account(repo, "rogue2")
    third = json.loads(_report(repo, "--format", "json"))
    assert third["trend"]["orphaned"] == 1  # since the second snapshot, not the first


def test_nightly_script_shows_what_changed_since_last_night(tmp_path: Path) -> None:
    if shutil.which("bash") is None:  # pragma: no cover - Debian CI has it
        raise AssertionError("bash is needed to run the shipped nightly script")
    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def night(out: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), str(repo), str(tmp_path / out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = night("night1")
    assert first.returncode == 7, first.stderr  # the quickstart has an orphan badge
    _someone_adds_an_account(repo, "rogue")
    second = night("night2")
    assert second.returncode == 7, second.stderr
    body = (tmp_path / "night2" / "report.md").read_text()
    assert "| orphaned | 2 | +1 |" in body
    assert "orphans grew by 1 since the report of" in body
    assert json.loads((tmp_path / "night2" / "report.json").read_text())["trend"]["orphaned"] == 1
    assert "+1" in (tmp_path / "night2" / "report.html").read_text()
