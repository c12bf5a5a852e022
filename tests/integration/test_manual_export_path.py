"""A manual source's export is read from inside the repository only: a pull request that
points it (or links it) at another file the runner can read must not get that file's rows
into a plan or a PR comment. An export kept elsewhere is named by the runner: ${env:NAME}."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from tests.conftest import EXAMPLES

OUTSIDE_ROWS = "external_id,display_name,enabled,grants\nsecret-1,Someone Outside,true,\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    (tmp_path / "outside.csv").write_text(OUTSIDE_ROWS)
    return dest


def _point_export_at(repo: Path, where: str) -> None:
    source = repo / "sources" / "badges.yaml"
    source.write_text(source.read_text().replace("export: exports/badges.csv", f"export: {where}"))


def _sync(repo: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["sync", str(repo)])
    return result.exit_code, result.output


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_an_export_outside_the_repository_is_refused_and_not_read(repo: Path, how: str) -> None:
    outside = repo.parent / "outside.csv"
    if how == "absolute":
        _point_export_at(repo, str(outside))
    elif how == "dotdot":
        _point_export_at(repo, "../outside.csv")
    else:
        export = repo / "exports" / "badges.csv"
        export.unlink()
        export.symlink_to(outside)
    code, output = _sync(repo)
    assert code != 0, output
    assert "connection.export must be a file inside the repository" in output
    assert "${env:NAME}" in output
    assert "Someone Outside" not in output and "secret-1" not in output
    if how == "symlink":
        assert f"{repo / 'exports' / 'badges.csv'} leads to {outside.resolve()}" in output
    plan = CliRunner().invoke(main, ["plan", str(repo), "--format", "json"])
    assert "secret-1" not in plan.output and "Someone Outside" not in plan.output


def test_an_export_named_by_the_runners_environment_is_read(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BADGES_EXPORT", str(repo.parent / "outside.csv"))
    _point_export_at(repo, "${env:BADGES_EXPORT}")
    code, output = _sync(repo)
    assert code == 0, output
    plan = CliRunner().invoke(main, ["plan", str(repo), "--format", "json"])
    assert "secret-1" in plan.output  # its one account, an orphan: no identity owns it
