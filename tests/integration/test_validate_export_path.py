"""`validate` (and so `plan`) refuses a manual source's export outside the repository,
at its file and line, as sync does: a pull request must not get a file of the runner's
read (and its rows into the PR comment) by the time a later job syncs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main


def _export(repo: Path, value: str) -> None:
    badges = repo / "sources" / "badges.yaml"
    lines = badges.read_text().splitlines()
    lines = [f"      export: {value}" if ln.strip().startswith("export:") else ln for ln in lines]
    badges.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("value", "how"),
    [
        ("/etc/shadow", "/etc/shadow is outside it"),
        ("../../outside.csv", "../../outside.csv is outside it"),
        ("exports/linked.csv", "leads to"),
    ],
)
def test_an_export_outside_the_repository_is_refused_by_validate_and_plan(
    quickstart: Path, value: str, how: str
) -> None:
    (quickstart / "exports" / "linked.csv").symlink_to("/etc/hostname")
    _export(quickstart, value)
    for command in ("validate", "plan"):
        result = CliRunner().invoke(main, [command, str(quickstart)])
        assert result.exit_code == 1, result.output
        assert "sources/badges.yaml:7:7: error[invalid-value]: source 'badges': " in result.output
        assert "connection.export must be a file inside the repository (" in result.output
        assert how in result.output
        assert "Error: 1 problem found; nothing was changed." in result.output


@pytest.mark.parametrize("value", ["exports/badges.csv", "${env:BADGES_EXPORT}"])
def test_an_export_in_the_repository_or_named_by_the_runner_passes(
    quickstart: Path, value: str
) -> None:
    _export(quickstart, value)
    result = CliRunner().invoke(main, ["validate", str(quickstart)])
    assert result.exit_code == 0, result.output
