"""A saved plan is bound to what the configuration means, not to its bytes: a comment,
a reordered mapping, other quoting or indentation leave it valid; any change of meaning
(a value, its type, a key) makes apply refuse it and say to plan again."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.config.meaning import meaning_digest
from accesshive.config.yamlio import parse_bytes

TODAY = "2026-11-29"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def repo(synced_quickstart: Path) -> Path:
    return synced_quickstart


def _plan(repo: Path) -> Path:
    out = repo.parent / "plan.json"
    made = _run("plan", str(repo), "--out", str(out), "--today", TODAY)
    assert made.exit_code == 0, made.output
    return out


def _apply(repo: Path, plan_file: Path) -> Result:
    return _run("apply", str(plan_file), "-C", str(repo), "--today", TODAY)


def test_comments_and_layout_leave_a_saved_plan_valid(repo: Path) -> None:
    plan_file = _plan(repo)
    people = repo / "identities" / "people.yaml"
    text = people.read_text()
    reworded = "# reviewed by the access team, see ticket IAM-1234\n" + text.replace(
        "      given_name: Grace\n", "      given_name: 'Grace'   # née Murray\n"
    ).replace("    type: human\n", '    type: "human"\n')
    assert reworded != text
    people.write_text(reworded)
    applied = _apply(repo, plan_file)
    assert applied.exit_code in (0, 6), applied.output
    assert "changed since this plan was made" not in applied.output


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("      given_name: Grace\n", "      given_name: Gracie\n"),  # a value
        ("      employee_number: 1002\n", "      employee_number: '1002'\n"),  # its type
    ],
)
def test_a_change_of_meaning_makes_apply_refuse_the_plan(repo: Path, old: str, new: str) -> None:
    plan_file = _plan(repo)
    people = repo / "identities" / "people.yaml"
    assert old in people.read_text()
    people.write_text(people.read_text().replace(old, new))
    refused = _apply(repo, plan_file)
    assert refused.exit_code != 0
    assert "the configuration changed since this plan was made" in refused.output
    assert "plan again" in refused.output


def test_the_meaning_digest_sees_types_and_ignores_order_and_comments() -> None:
    def meaning(text: str) -> str:
        return parse_bytes(text.encode(), "x.yaml").meaning

    base = meaning("a: 1\nb: [x, y]\n")
    assert meaning("# note\nb: [x, y]   # list\na: 1\n") == base
    assert meaning("b:\n  - 'x'\n  - \"y\"\na: 1\n") == base
    others = {meaning(f"a: {v}\nb: [x, y]\n") for v in ("'1'", "1.0", "true", "2", "null")}
    assert base not in others and len(others) == 5
    assert meaning("a: 1\nb: [y, x]\n") != base  # a sequence keeps its order
    assert meaning_digest({1: "a"}) != meaning_digest({"1": "a"})
