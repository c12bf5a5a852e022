"""Two identities with one email are refused: sources correlate accounts on it, so the
later-sorting identity would take over the other person's account (revoking its access
as its own), and its owner would get a second one."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from accesshive.cli import main

GRACE_LINE = 17  # grace.hopper's email in the quickstart's identities/people.yaml


def _add(repo: Path, iid: str, email: str, given: str = "Grace") -> int:
    people = repo / "identities" / "people.yaml"
    text = people.read_text()
    people.write_text(
        text + f"  {iid}:\n    type: human\n    attributes: {{given_name: {given}, "
        f"family_name: Hopper, email: {email}, department: Sales, employee_number: 1099}}\n"
    )
    return text.count("\n") + 3


def test_two_identities_with_one_email_are_refused_at_both_places(quickstart: Path) -> None:
    people = (quickstart / "identities" / "people.yaml").read_text().splitlines()
    assert "grace.hopper@quickstart.example" in people[GRACE_LINE - 1]
    line = _add(quickstart, "eve.x", "Grace.Hopper@Quickstart.example")
    for command in ("validate", "plan"):
        result = CliRunner().invoke(main, [command, str(quickstart)])
        assert result.exit_code == 1, result.output
        out = result.output
        assert (
            f"identities/people.yaml:{line}:58: error[duplicate-value]: identity 'eve.x' has "
            "the same email as 'grace.hopper' ('grace.hopper@quickstart.example')"
        ) in out
        assert (
            f"identities/people.yaml:{GRACE_LINE}:7: error[duplicate-value]: identity "
            "'grace.hopper' has the same email as 'eve.x'"
        ) in out
        assert f"see: {quickstart}/identities/people.yaml:{GRACE_LINE}:7" in out
        assert "hint: each person has one identity: give each its own email" in out
        assert "create account grace.hopper" not in out  # nothing planned


def test_the_json_names_both_places(quickstart: Path) -> None:
    line = _add(quickstart, "zed.x", "grace.hopper@quickstart.example")
    result = CliRunner().invoke(main, ["validate", str(quickstart), "--format", "json"])
    found = json.loads(result.output)["diagnostics"]
    assert sorted((d["line"], d["code"]) for d in found) == [
        (GRACE_LINE, "duplicate-value"),
        (line, "duplicate-value"),
    ]


def test_different_emails_pass(quickstart: Path) -> None:
    _add(quickstart, "eve.x", "eve.x@quickstart.example", given="Eve")  # another wiki login
    result = CliRunner().invoke(main, ["validate", str(quickstart)])
    assert result.exit_code == 0, result.output
