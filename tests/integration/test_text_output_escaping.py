"""A name cannot forge lines in text output: control characters are shown escaped.

eve's given name holds a newline followed by what a plan line looks like
(``+ grant wiki-admins ...``), a carriage return and a right-to-left override
(U+202E). ``plan``, ``show``, ``apply``, ``tasks list``, ``tasks done --by``, ``state
show`` and ``status`` print her badge holder name (``{{ given_name }} {{ family_name }}``) and who
ran or did what on one line each, with ``\\n``, ``\\r`` and ``\\u202e`` written out: a CI
log shows no order the plan does not hold. The real quickstart, through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.terminal_text import shown

TODAY = "2026-11-29"
FORGED = "+ grant wiki-admins on wiki to eve (access profile wiki-admin) [sensitive]"
GIVEN = f"Eve\n{FORGED}\r"
FAMILY = "Evil\u202etxt.exe"
RAW = ("\n+ grant", "\r", "\u202e")
SHOWN = f"Eve\\n{FORGED}\\r Evil\\u202etxt.exe"


def _run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def _clean(output: str) -> None:
    """No line of ``output`` is the forged one, and nothing raw is left."""
    assert not [ln for ln in output.splitlines() if ln.lstrip().startswith(FORGED)]
    for raw in RAW[1:]:
        assert raw not in output
    assert SHOWN in output


@pytest.fixture
def repo(synced_quickstart: Path) -> Path:
    quickstart = synced_quickstart
    people = quickstart / "identities" / "people.yaml"
    attributes = {
        "given_name": GIVEN,
        "family_name": FAMILY,
        "email": "eve@quickstart.example",
        "department": "Facilities",  # no role: only the badge below, no wiki login
        "employee_number": 1066,
    }
    # JSON is YAML: the control characters go in as escapes, read back as themselves
    people.write_text(
        people.read_text() + f"  eve:\n    type: human\n    access_profiles: [badge-office]\n"
        f"    attributes: {json.dumps(attributes)}\n"
    )
    return quickstart


def test_shown_escapes_control_characters_and_keeps_the_rest() -> None:
    assert shown("a\nb\r\tc\x1b[31m\x85\u2028\u2029\u202a\u202e\u2066\u2069") == (
        "a\\nb\\r\\tc\\x1b[31m\\x85\\u2028\\u2029\\u202a\\u202e\\u2066\\u2069"
    )
    assert shown("Zoë Noether → ✓ 🎉") == "Zoë Noether → ✓ 🎉"


def test_plan_and_show_print_a_forged_line_escaped(repo: Path) -> None:
    plan_file = repo.parent / "plan.json"
    made = _run("plan", str(repo), "--out", str(plan_file), "--today", TODAY)
    assert made.exit_code == 0, made.output
    _clean(made.output)
    assert f"create account {SHOWN} on badges" in made.output
    shown_plan = _run("show", str(plan_file), "-C", str(repo))
    assert shown_plan.exit_code == 0, shown_plan.output
    _clean(shown_plan.output)


def test_tasks_state_and_status_print_names_and_actors_escaped(repo: Path) -> None:
    actor = "ci\n+ run 99 applied everything\u202e"
    applied = _run(
        "apply", str(repo), "--auto-approve", "--today", TODAY, env={"ACCESSHIVE_ACTOR": actor}
    )
    assert applied.exit_code in (0, 6), applied.output
    _clean(applied.output)  # the manual task handed to the badge office

    listed = _run("tasks", "list", str(repo))
    assert listed.exit_code == 0, listed.output
    _clean(listed.output)
    tasks = json.loads(_run("tasks", "list", str(repo), "--format", "json").stdout)
    (task,) = [t for t in tasks if "Evil" in t["description"] and "office" not in t["description"]]

    by = "bob\n+ grant wiki-admins\r"
    done = _run("tasks", "done", task["id"], "-C", str(repo), "--by", by)
    assert done.exit_code == 0, done.output
    marked = f"{task['id']} marked done by bob\\n+ grant wiki-admins\\r"
    assert done.output.splitlines()[0] == marked
    again = _run("tasks", "done", task["id"], "-C", str(repo), "--by", by)
    assert "(by bob\\n+ grant wiki-admins\\r at " in again.output

    state = _run("state", "show", str(repo))
    assert state.exit_code == 0, state.output
    assert "by ci\\n+ run 99 applied everything\\u202e" in state.output
    assert not [ln for ln in state.output.splitlines() if ln.startswith("+ run 99")]

    status = _run("status", str(repo), "eve")
    assert status.exit_code in (0, 6), status.output
    _clean(status.output)
