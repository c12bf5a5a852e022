"""Shell completion as the README sets it up: the installed script prints a completion
script for each shell, and completes commands and options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_BESIDE = Path(sys.executable).parent / "accesshive"  # the script of this environment
SCRIPT = str(_BESIDE) if _BESIDE.exists() else None


def _complete(env: dict[str, str]) -> str:
    assert SCRIPT is not None
    done = subprocess.run(
        [SCRIPT], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.mark.skipif(SCRIPT is None, reason="the accesshive script is not installed")
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_a_completion_script(shell: str) -> None:
    script = _complete({"_ACCESSHIVE_COMPLETE": f"{shell}_source"})
    assert "_ACCESSHIVE_COMPLETE" in script and "accesshive" in script


@pytest.mark.skipif(SCRIPT is None, reason="the accesshive script is not installed")
def test_commands_and_options_complete() -> None:
    words = {"COMP_CWORD": "1", "_ACCESSHIVE_COMPLETE": "bash_complete"}
    commands = _complete({**words, "COMP_WORDS": "accesshive ap"}).split()
    assert commands == ["plain,apply", "plain,approvals", "plain,approve"]
    words["COMP_CWORD"] = "2"
    options = _complete({**words, "COMP_WORDS": "accesshive plan --det"}).split()
    assert options == ["plain,--detailed-exitcode"]
