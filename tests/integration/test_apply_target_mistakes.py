"""`apply --identity` / `--source` naming something that is not there, on the quickstart's
real SQLite wiki: one line naming what exists (close matches first), a non-zero exit, and
nothing recorded or sent: no run, no account on the wiki."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.operations import StoreRef
from tests.conftest import EXAMPLES

TODAY = ["--today", "2026-11-29"]


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def planned(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    assert _run("sync", str(repo)).exit_code == 0
    plan = tmp_path / "plan.json"
    made = _run("plan", str(repo), "--out", str(plan), *TODAY)
    assert made.exit_code == 0, made.output
    return repo, plan


def _nothing_happened(repo: Path) -> None:
    with StoreRef().open(repo) as store:
        assert store.runs() == []
    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ["--identity", "ada"],
            "apply --identity ada: no identity 'ada'; did you mean 'ada.lovelace'?",
        ),
        (["--source", "badge"], "apply --source badge: no source 'badge'; did you mean 'badges'?"),
        (
            # declared, but the targets already match it: the plan has nothing for it
            ["--identity", "zoe.noether"],
            "apply --identity zoe.noether: the plan has no order for identity 'zoe.noether' "
            "(the targets already match it); identities with orders: ada.lovelace, "
            "grace.hopper; nothing was run",
        ),
        (
            ["--identity", "ada.lovelace", "--source", "badges"],
            "apply --source badges --identity ada.lovelace: the plan has no order of identity "
            "'ada.lovelace' on source 'badges' (its orders are on wiki); nothing was run",
        ),
    ],
)
def test_a_target_that_matches_nothing_is_an_error_and_changes_nothing(
    planned: tuple[Path, Path], flags: list[str], expected: str
) -> None:
    repo, plan = planned
    result = _run("apply", str(plan), "-C", str(repo), *flags, *TODAY)
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {expected}\n"
    as_json = _run("apply", str(plan), "-C", str(repo), *flags, *TODAY, "--format", "json")
    assert json.loads(as_json.stdout)["error"]["message"] == expected
    _nothing_happened(repo)


def test_retry_of_an_unknown_identity_names_the_close_ones(planned: tuple[Path, Path]) -> None:
    repo, _ = planned
    result = _run("retry", "ada", "-C", str(repo), *TODAY)
    assert result.exit_code == 1, result.output
    assert result.output == "Error: retry ada: no identity 'ada'; did you mean 'ada.lovelace'?\n"
    _nothing_happened(repo)
