"""A plan applied on a later day than it was made for: what is due changes with the
date (a leaver's account goes from disabled to deleted once retention has passed), so
apply's re-plan differs. That is a stale plan, planned again, not a forged one; a plan
edited by hand stays forged whatever day it is applied on."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.plan.planfile import read_plan, write_plan

MADE = "2026-11-29"
LATER = "2027-01-15"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _leaver_plan(repo: Path) -> Path:
    """The quickstart applied; then grace.hopper leaves (terminated on 2026-11-25):
    within the wiki's retention her account is disabled, past it, deleted."""
    assert _run("sync", str(repo)).exit_code == 0
    assert _run("apply", "--auto-approve", str(repo), "--today", MADE).exit_code in (0, 6)
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            "  grace.hopper:\n",
            "  grace.hopper:\n    lifecycle_state: terminated\n    lifecycle_since: 2026-11-25\n",
        )
    )
    out = repo.parent / "plan.json"
    made = _run("plan", str(repo), "--out", str(out), "--today", MADE)
    assert made.exit_code == 0, made.output
    return out


def _wiki_actions(plan_file: Path) -> set[str]:
    return {
        o.change.action
        for o in read_plan(plan_file).orders
        if o.change.identity == "grace.hopper" and o.change.source == "wiki"
    }


def test_the_plan_records_the_day_it_was_made_for(quickstart: Path) -> None:
    plan_file = _leaver_plan(quickstart)
    assert json.loads(plan_file.read_text())["planned_on"] == MADE
    assert read_plan(plan_file).planned_on == MADE


def test_a_plan_applied_after_a_deletion_fell_due_is_stale_not_forged(
    quickstart: Path,
) -> None:
    plan_file = _leaver_plan(quickstart)
    assert "delete_account" not in _wiki_actions(plan_file)
    result = _run("apply", str(plan_file), "-C", str(quickstart), "--today", LATER)
    assert result.exit_code != 0
    assert "the plan is stale: it was planned for 2026-11-29" in result.output, result.output
    assert "not what `accesshive plan" not in result.output
    assert f"(on {LATER}; it was planned on {MADE})" in result.output
    assert "Plan again" in result.output and "Sync and plan again" not in result.output
    # planned again on the later day, the deletion is in the plan, and it applies
    again = quickstart.parent / "again.json"
    made = _run("plan", str(quickstart), "--out", str(again), "--today", LATER)
    assert made.exit_code == 0, made.output
    assert "delete_account" in _wiki_actions(again)


def test_an_edited_plan_is_forged_on_any_day(quickstart: Path) -> None:
    """A leaver's disable deleted by hand (the digest recomputed by the package's own
    functions) is forged on its own day and on a later one: the date explains nothing."""
    plan_file = _leaver_plan(quickstart)
    plan = read_plan(plan_file)
    forged = plan.only(
        lambda o: not (o.change.identity == "grace.hopper" and o.action == "disable_account"),
        plan.scope,
    )
    assert len(forged.orders) < len(plan.orders)
    write_plan(replace(forged, scope=None), plan_file)
    for day in (MADE, LATER):
        result = _run("apply", str(plan_file), "-C", str(quickstart), "--today", day)
        assert result.exit_code != 0
        assert "not what `accesshive plan" in result.output, (day, result.output)
        assert "wiki, for grace.hopper) is missing" in result.output, (day, result.output)


def _department(repo: Path, who: str, department: str) -> None:
    people = repo / "identities" / "people.yaml"
    text = people.read_text()
    start = text.index(f"  {who}:\n")
    at = text.index("department: ", start)
    end = text.index("\n", at)
    people.write_text(text[:at] + f"department: {department}" + text[end:])


def _editors(repo: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        rows = db.execute(
            "SELECT u.login FROM users u JOIN user_groups g ON g.user_id = u.id "
            "WHERE g.group_name = 'editors'"
        ).fetchall()
    return {r[0] for r in rows}


def test_a_grant_revoked_and_given_again_the_same_day_is_a_new_plan_and_is_provisioned(
    quickstart: Path,
) -> None:
    """Ada moves to Sales (her editors revoked), then back, the same day: the plan that
    gives editors back holds the same orders as the first one, but it is made after
    other runs, so it is another plan: its grant is not taken for the first plan's,
    already verified, and it is provisioned."""
    repo = quickstart

    def plan_and_apply(name: str) -> str:
        out = repo.parent / name
        made = _run("plan", str(repo), "--out", str(out), "--today", MADE)
        assert made.exit_code == 0, made.output
        applied = _run("apply", str(out), "-C", str(repo), "--today", MADE)
        assert applied.exit_code in (0, 6), applied.output
        return read_plan(out).digest

    assert _run("sync", str(repo)).exit_code == 0
    first = plan_and_apply("first.json")
    assert "ada.lovelace" in _editors(repo)
    _department(repo, "ada.lovelace", "Sales")
    plan_and_apply("moved.json")
    assert "ada.lovelace" not in _editors(repo)
    _department(repo, "ada.lovelace", "Engineering")
    again = plan_and_apply("back.json")
    assert again != first
    assert json.loads((repo.parent / "back.json").read_text())["after_run"] == 2
    assert "ada.lovelace" in _editors(repo)
