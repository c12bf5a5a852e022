"""The run's tasks.md, which a source owner reads far from the repository, ends with a
`tasks done` command that runs as printed from anywhere: it names the repository."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main


def test_the_run_s_task_file_command_runs_as_printed(
    synced_quickstart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = synced_quickstart
    applied = CliRunner().invoke(
        main, ["apply", "--auto-approve", str(repo), "--today", "2026-11-29"]
    )
    assert applied.exit_code == 6, applied.output
    (tasks_md,) = (repo / ".accesshive" / "runs").glob("*/tasks.md")
    text = tasks_md.read_text()
    command = text.split("run `accesshive ")[1].split("`")[0]
    assert f"-C {repo}" in command
    monkeypatch.chdir(tmp_path)  # elsewhere: no repository here
    done = CliRunner().invoke(main, [*shlex.split(command), "--by", "Fatima"])
    assert done.exit_code == 0, done.output
