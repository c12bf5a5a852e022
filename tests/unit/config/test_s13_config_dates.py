"""A ``lifecycle_since`` far in the future is never due (no traceback), and an impossible
date is reported at its own line, as a date, not as another line's number."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from accesshive.cli import main


def _add_identity(repo: Path, since: str) -> int:
    """Append an identity (terminated since ``since``) to people.yaml; its line number."""
    people = repo / "identities" / "people.yaml"
    text = people.read_text()
    if not text.endswith("\n"):
        text += "\n"
    people.write_text(
        text + f"  x8: {{type: human, lifecycle_state: terminated, lifecycle_since: {since}, "
        "attributes: {given_name: A, family_name: B, email: x8@q.example, department: Sales, "
        "employee_number: 5}}\n"
    )
    return text.count("\n") + 1


def test_a_lifecycle_since_far_in_the_future_is_never_due(quickstart: Path) -> None:
    _add_identity(quickstart, "9999-12-31")
    result = CliRunner().invoke(main, ["validate", str(quickstart)])
    assert result.exit_code == 0, result.output
    plan = CliRunner().invoke(main, ["plan", str(quickstart), "--format", "json"])
    assert plan.exception is None or isinstance(plan.exception, SystemExit), plan.output
    assert "Traceback" not in plan.output and "OverflowError" not in plan.output
    orders = json.loads(plan.output)["orders"]
    mine = [o for o in orders if o.get("identity") == "x8"]
    # terminated: accounts disabled, not deleted (its 30 days after 9999-12-31 never come)
    assert mine == [] or all(o["kind"] != "delete_account" for o in mine)


def test_an_impossible_date_is_reported_at_its_own_line(quickstart: Path) -> None:
    line = _add_identity(quickstart, "2026-13-45")
    result = CliRunner().invoke(main, ["validate", str(quickstart)])
    assert result.exit_code == 1, result.output
    assert (
        f"identities/people.yaml:{line}:67: error[wrong-type]: lifecycle_since '2026-13-45' "
        "is not a date: write YYYY-MM-DD"
    ) in result.output
    assert "number-too-large" not in result.output
    as_json = CliRunner().invoke(main, ["validate", str(quickstart), "--format", "json"])
    (found,) = json.loads(as_json.output)["diagnostics"]
    assert (found["file"], found["line"], found["code"]) == (
        "identities/people.yaml",
        line,
        "wrong-type",
    )


def test_a_number_too_large_is_still_said_at_its_line(quickstart: Path) -> None:
    people = quickstart / "identities" / "people.yaml"
    text = people.read_text()
    people.write_text(
        text + f"  x9: {{type: human, attributes: {{employee_number: {'9' * 5000}}}}}\n"
    )
    result = CliRunner().invoke(main, ["validate", str(quickstart)])
    assert "error[number-too-large]: a number of 5000 digits" in result.output
    assert f"people.yaml:{text.count(chr(10)) + 1}:" in result.output
