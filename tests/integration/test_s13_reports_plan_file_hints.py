"""A plan file cut short (a half-downloaded CI artefact) or not a plan at all is refused
like every other plan file that must be made again: the refusal ends with the command
that makes it, runnable as printed, which is also the JSON error's ``hint``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import reviewed_quickstart
from tests.support.ssh import keygen


@pytest.fixture
def in_repo(tmp_path: Path) -> Iterator[Path]:
    """The synced quickstart (alice reviews, her key at ``alice``) with a saved plan, as
    the current directory."""
    public = keygen(tmp_path / "alice")
    review = (
        "review:\n  reviewers:\n    alice:\n      groups: [security]\n"
        f'      public_key: "{public}"\n'
    )
    repo = reviewed_quickstart(tmp_path / "quickstart", review)
    before = Path.cwd()
    os.chdir(repo)
    try:
        made = CliRunner().invoke(main, ["plan", "--out", "plan.json"])
        assert made.exit_code == 0, made.output
        yield repo
    finally:
        os.chdir(before)


def _cut(repo: Path, size: int) -> str:
    (repo / "cut.json").write_bytes((repo / "plan.json").read_bytes()[:size])
    return "cut.json"


@pytest.mark.parametrize("command", [["apply"], ["show"], ["approve", "--all-gated", "--key"]])
def test_a_cut_plan_ends_with_the_command_that_makes_it(in_repo: Path, command: list[str]) -> None:
    args = [command[0], _cut(in_repo, 300), *command[1:]]
    if command[-1] == "--key":
        args.append(str(in_repo.parent / "alice"))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "cut.json is not a plan file (not JSON:" in result.output
    if command[0] == "show":  # no repository of its own: names the plan's when known
        assert "plan again: `accesshive plan --out cut.json" in result.output
    else:
        assert result.output.rstrip().endswith("plan again: `accesshive plan --out cut.json`")


def test_a_cut_plan_names_its_repository_from_elsewhere(in_repo: Path) -> None:
    """Cut after its config_digest, the file still tells the repository it came from."""
    _cut(in_repo, 800)
    os.chdir(in_repo.parent)
    result = CliRunner().invoke(main, ["show", "quickstart/cut.json"])
    assert result.exit_code == 1, result.output
    assert result.output.rstrip().endswith(
        "plan again: `accesshive plan --out quickstart/cut.json -C quickstart`"
    )


def test_json_refusal_has_the_hint(in_repo: Path) -> None:
    (in_repo / "other.json").write_text('{"a": 1}\n')
    result = CliRunner().invoke(main, ["apply", "other.json", "--format", "json"])
    error = json.loads(result.stdout)["error"]
    assert error["message"].startswith("other.json is not an accesshive plan (no plan_digest)")
    assert error["hint"] == "`accesshive plan --out other.json`"
    assert error["message"].endswith(f": {error['hint']}")
