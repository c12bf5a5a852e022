"""After a target refused some writes, apply's summary says how to run the rest again,
and the command it prints runs as printed (the quickstart's real SQLite wiki, refusing
a login through a trigger in its own database)."""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.wiki import refuse_logins

TODAY = "2026-11-29"


def _cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["accesshive", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_refused_write_gets_a_hint_that_runs_the_rest_again(quickstart: Path) -> None:
    assert _cli(quickstart, "sync").returncode == 0
    planned = _cli(quickstart, "plan", "--out", "plan.json", "--today", TODAY)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    refuse_logins(quickstart, "ada.lovelace")
    applied = _cli(quickstart, "apply", "plan.json", "--today", TODAY)
    assert applied.returncode == 1, applied.stdout + applied.stderr
    lines = applied.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Errored on wiki"))
    assert "run apply again: what is verified is not repeated" in lines[at]
    again = lines[at + 1].strip()
    assert again == "`accesshive apply plan.json`", lines[at : at + 3]
    assert "fix it and plan again: `accesshive plan --out plan.json`" in lines[at + 2]
    refuse_logins(quickstart)  # the target takes the login again
    words = shlex.split(again.strip("`"))
    assert words[0] == "accesshive"
    rerun = _cli(quickstart, *words[1:])  # as printed
    assert rerun.returncode in (0, 6), rerun.stdout + rerun.stderr  # gated orders may wait
    with sqlite3.connect(quickstart / ".accesshive" / "wiki-app.db") as db:
        logins = {row[0] for row in db.execute("SELECT login FROM users")}
    assert "ada.lovelace" in logins
