"""How a command stopped by a configuration problem ends: "nothing was changed" only where
something could have been (``validate`` and ``plan``, run before ``apply``, keep it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main


@pytest.mark.parametrize("command", [["status"], ["audit", "verify"], ["state", "show"]])
def test_a_read_only_command_outside_a_repository_ends_with_the_problem(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert result.output.startswith(".: error[no-project]: . has no accesshive.yaml\n")
    assert "nothing was changed" not in result.output
    assert result.output.rstrip("\n").splitlines()[-1].startswith("  hint: point at a config")

    body = json.loads(CliRunner().invoke(main, [*command, "--format", "json"]).stdout)
    assert body["error"]["message"] == "1 problem found in the configuration"


@pytest.mark.parametrize("command", [["validate"], ["sync"]])
def test_a_command_that_checks_or_changes_says_nothing_was_changed(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert result.output.endswith("Error: 1 problem found; nothing was changed.\n")


def test_the_command_is_known_however_the_program_was_started(tmp_path: Path) -> None:
    """``python -m accesshive status``: the program's name is three words, not one."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "accesshive", "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "error[no-project]" in result.stderr
    assert "nothing was changed" not in result.stderr
