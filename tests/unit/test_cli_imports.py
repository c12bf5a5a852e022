"""What the command line imports before a command's body runs.

Why: every run of a command pays for what its module imports, and ``accesshive plan
--help`` (or a typo in an option) should not load the configuration models, the graph
library or the YAML parser. These tests run the real console entry point in a fresh
interpreter and look at ``sys.modules`` when it exits: which modules, not how fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from accesshive.cli import COMMANDS, main

HEAVY = (
    "cryptography",
    "httpx",
    "jinja2",
    "networkx",
    "pydantic",
    "ruamel",
    "sqlite3",
    "accesshive.cache",
    "accesshive.config.model",
    "accesshive.operations",
    "pickle",
)
"""Libraries (and the modules of ours that load them) that only a command's work needs."""

_PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(sys.modules))))
sys.argv = ["accesshive", *json.loads(sys.argv[1])]
from accesshive.cli import main
main()
"""


def _run(args: list[str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``accesshive ARGS`` in a fresh interpreter: the run, and the modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    _, _, listed = done.stderr.rpartition("\nMODULES ")
    return done, set(json.loads(listed))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_plan_help_imports_nothing_heavy() -> None:
    done, modules = _run(["plan", "--help"])
    assert done.returncode == 0
    assert "Usage: accesshive plan" in done.stdout
    assert "accesshive.cli._plan" in modules  # the probe saw the command load
    assert _heavy(modules) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_help_imports_nothing_heavy(command: str) -> None:
    done, modules = _run([command, "--help"])
    assert done.returncode == 0, done.stderr
    assert f"Usage: accesshive {command}" in done.stdout
    assert _heavy(modules) == []


RUN_ANY = {"accesshive", "accesshive._lazy", "accesshive.cli", "accesshive.cli._group"}
"""Ours that every run imports before it knows its command: the package (for
``__version__``), the group and its lazily imported command table."""


def test_version_imports_no_command_and_no_library_of_ours() -> None:
    done, modules = _run(["--version"])
    assert done.returncode == 0
    assert "accesshive, version" in done.stdout
    # the group, and the streams that survive a closed pipe; not even the error handler
    ours = {m for m in modules if m == "accesshive" or m.startswith("accesshive.")}
    assert ours == RUN_ANY | {"accesshive.cli._pipes"}
    assert _heavy(modules) == []


def test_help_lists_every_command_without_importing_one() -> None:
    done, modules = _run(["--help"])
    assert done.returncode == 0, done.stderr
    listed = done.stdout.partition("\nCommands:\n")[2].splitlines()
    assert [line.split()[0] for line in listed if line.strip()] == sorted(COMMANDS)
    assert "  apply      Execute exactly a saved plan: retry, verify, record; resume..." in listed
    ours = {m for m in modules if m == "accesshive" or m.startswith("accesshive.")}
    assert ours == RUN_ANY | {"accesshive.cli._pipes"}
    assert _heavy(modules) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_listed_short_help_is_the_commands_own(command: str) -> None:
    """``accesshive --help`` shows the short help kept in ``COMMANDS``: it must be what
    click makes of the command's docstring, at the width of a terminal or any other."""
    listed = click.Command(command, help=COMMANDS[command][1])
    real = main.commands[command]
    for limit in (20, 45, 63, 200):
        assert listed.get_short_help_str(limit) == real.get_short_help_str(limit), (
            f"the short help of {command!r} in accesshive/cli/__init__.py COMMANDS is not its "
            "docstring's first sentence: update COMMANDS"
        )
    assert not real.hidden and not real.deprecated and not real.short_help


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_directory_without_project_fails_before_loading_the_models(
    command: str, tmp_path: Path
) -> None:
    """The loader's own error, exit code 1, without importing the loader."""
    done, modules = _run([command, str(tmp_path), "--format", "json"])
    assert done.returncode == 1
    body = json.loads(done.stdout)
    assert body["error"]["kind"] == "config"
    assert [d["code"] for d in body["diagnostics"]] == ["no-project"]
    assert body["diagnostics"][0]["message"] == f"{tmp_path} has no accesshive.yaml"
    assert _heavy(modules) == []


def test_a_real_plan_still_loads_what_it_needs(tmp_path: Path) -> None:
    """The probe can see heavy modules: a plan of the quickstart example loads them."""
    example = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
    done, modules = _run(
        ["plan", str(example), "--format", "json", "--store", str(tmp_path / "s.db")]
    )
    assert done.returncode == 0, done.stderr
    assert "pydantic" in modules and "networkx" in modules and "accesshive.config.model" in modules
