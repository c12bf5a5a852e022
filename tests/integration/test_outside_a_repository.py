"""Commands pointed at a directory that is no config repository refuse, and create no
store there (they used to make an empty one and report from it: "0 audit entries, chain
intact"); a connection flag that is not a boolean is refused, never read as true."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import EXAMPLES


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "verify"],
        ["console", "token", "list"],
        ["console", "token", "create", "--operator", "olive"],
        ["tasks", "list"],
    ],
)
def test_a_store_command_outside_a_repository_refuses_and_creates_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    result = CliRunner().invoke(main, [*args, "-C", str(tmp_path)])
    assert result.exit_code != 0
    assert "has no accesshive.yaml" in result.output
    assert list(tmp_path.iterdir()) == []


def test_create_tables_off_is_refused_not_taken_as_true(tmp_path: Path) -> None:
    repo = tmp_path / "qs"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    wiki = repo / "sources" / "wiki.yaml"
    wiki.write_text(wiki.read_text().replace("create_tables: true", "create_tables: off"))
    result = CliRunner().invoke(main, ["sync", str(repo)])
    assert result.exit_code != 0
    assert "connection.create_tables must be true or false, not 'off'" in result.output
    assert not (repo / ".accesshive" / "wiki-app.db").exists()
