"""Manual tasks have a stable identity: a new plan or apply reuses the open task, and a
task no longer needed is cancelled with the reason, for its owner to see. On the
quickstart's badges (a manual source), with the store on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main

TODAY = "2026-11-29"
GRACE_BADGE = "create account Grace Hopper on badges"


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _apply(repo: Path, store_args: list[str]) -> None:
    result = _run("apply", str(repo), "--auto-approve", "--today", TODAY, *store_args)
    assert result.exit_code in (0, 6), result.output


def _tasks(repo: Path, store_args: list[str], *extra: str) -> list[dict[str, Any]]:
    result = _run("tasks", "list", str(repo), "--format", "json", *store_args, *extra)
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def _add_identity(repo: Path) -> None:
    """An unrelated change: the next plan is another plan (another digest)."""
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text()
        + """  kay.jones:
    type: human
    attributes:
      given_name: Kay
      family_name: Jones
      email: kay.jones@quickstart.example
      department: Engineering
      employee_number: 1006
"""
    )


def _grace_leaves(repo: Path) -> None:
    people = repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            "    roles: [ops-admin]\n",
            "    roles: [ops-admin]\n    lifecycle_state: leave\n    lifecycle_since: 2026-11-01\n",
        )
    )


def test_two_applies_leave_one_open_task(repo: Path, store_args: list[str]) -> None:
    assert _run("sync", str(repo), *store_args).exit_code == 0
    first = _run("apply", str(repo), "--auto-approve", "--today", TODAY, *store_args)
    # the summary lists the task handed to the source's owner, with its id
    assert "transmitted" in first.output and GRACE_BADGE in first.output
    assert "task T-" in first.output
    _add_identity(repo)  # another plan: another digest, the same badge work for Grace
    _apply(repo, store_args)
    grace = [t for t in _tasks(repo, store_args) if t["description"] == GRACE_BADGE]
    assert len(grace) == 1, grace
    assert grace[0]["state"] == "open"
    # the first apply's files and the store name the same task
    listed = _run("tasks", "list", str(repo), "--format", "markdown", *store_args)
    assert listed.output.count(GRACE_BADGE) == 1


def test_a_task_no_longer_needed_is_cancelled_with_the_reason(
    repo: Path, store_args: list[str]
) -> None:
    assert _run("sync", str(repo), *store_args).exit_code == 0
    _apply(repo, store_args)
    (task,) = [t for t in _tasks(repo, store_args) if t["description"] == GRACE_BADGE]
    _grace_leaves(repo)  # she leaves before facilities made her badge
    _apply(repo, store_args)

    (cancelled,) = [t for t in _tasks(repo, store_args) if t["id"] == task["id"]]
    assert cancelled["state"] == "cancelled"
    assert cancelled["reason"].startswith("no longer needed: apply run ")
    text = _run("tasks", "list", str(repo), *store_args).output
    assert f"{task['id']}  [cancelled]" in text
    assert "no longer needed" in text
    rows = list(
        csv.DictReader(
            io.StringIO(_run("tasks", "list", str(repo), "--format", "csv", *store_args).output)
        )
    )
    (row,) = [r for r in rows if r["task"] == task["id"]]
    assert row["state"] == "cancelled" and row["reason"] == cancelled["reason"]
    markdown = _run("tasks", "list", str(repo), "--format", "markdown", *store_args).output
    assert f"~~`{task['id']}` {GRACE_BADGE}~~ cancelled: no longer needed" in markdown
    audit = _run("audit", "export", str(repo), "--format", "json", *store_args)
    if audit.exit_code == 0:
        assert "task_cancelled" in audit.output
    # her history says the task's real state, not "transmitted … task for facilities"
    shown = _run("status", str(repo), "grace.hopper", "--today", TODAY, *store_args).output
    (line,) = [i for i, x in enumerate(shown.splitlines()) if GRACE_BADGE in x]
    step, message = shown.splitlines()[line : line + 2]
    assert step.split()[0] == "cancelled", shown
    assert message.strip() == f"task {task['id']} cancelled: {cancelled['reason']}"
    # ... listed apart from what is done: a cancelled task was never carried out
    lines = shown.splitlines()
    assert "  earlier steps, no longer in its current flow:" in lines[:line]
    assert (
        "  already done:"
        not in lines[lines.index("  earlier steps, no longer in its current flow:") : line]
    )
    as_json = _run(
        "status", str(repo), "grace.hopper", "--format", "json", "--today", TODAY, *store_args
    )
    (badge,) = [
        s for s in json.loads(as_json.stdout)[0]["history"] if f"T-{s['order']}" == task["id"]
    ]
    assert badge["state"] == "cancelled"
    assert badge["message"] == f"task {task['id']} cancelled: {cancelled['reason']}"


def test_the_task_of_someone_removed_from_the_repository_is_cancelled(repo: Path) -> None:
    """Grace's entry is deleted before facilities made her badge (the hire fell through):
    the next plan has no order of hers at all, and her open task is still closed."""
    assert _run("sync", str(repo)).exit_code == 0
    _apply(repo, [])
    (task,) = [t for t in _tasks(repo, []) if t["description"] == GRACE_BADGE]
    people = repo / "identities" / "people.yaml"
    text = people.read_text()
    start = text.index("  grace.hopper:\n")
    people.write_text(text[:start] + text[text.index("  alan.turing:\n") :])
    _apply(repo, [])
    (cancelled,) = [t for t in _tasks(repo, []) if t["id"] == task["id"]]
    assert cancelled["state"] == "cancelled"
    assert cancelled["reason"].startswith("no longer needed: apply run ")
    assert [t["id"] for t in _tasks(repo, []) if t["state"] == "open"] == []


def test_retrying_one_identity_cancels_no_other_task(repo: Path) -> None:
    assert _run("sync", str(repo)).exit_code == 0
    _apply(repo, [])
    (task,) = [t for t in _tasks(repo, []) if t["description"] == GRACE_BADGE]
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("employee_number: 1001", "employee_number: 1011"))
    retried = _run("retry", "ada.lovelace", "-C", str(repo), "--today", TODAY)
    assert retried.exit_code == 0, retried.output
    assert retried.output.startswith("Retry of ada.lovelace:\nApply run ")  # Ada's alone
    assert ": complete (" in retried.output and "{" not in retried.output
    (still,) = [t for t in _tasks(repo, []) if t["id"] == task["id"]]
    assert still["state"] == "open"


def _adoptions(repo: Path, store_args: list[str], out: Path) -> set[tuple[str, str, str]]:
    made = _run("plan", str(repo), "--out", str(out), "--today", TODAY, *store_args)
    assert made.exit_code == 0, made.output
    plan = json.loads(out.read_text())
    return {(a["source"], a["account"], a["identity"]) for a in plan["adoptions"]}


def test_accounts_accesshive_had_made_are_not_adopted(
    repo: Path, store_args: list[str], tmp_path: Path
) -> None:
    assert _run("sync", str(repo), *store_args).exit_code == 0
    _apply(repo, store_args)
    # facilities makes Grace's badge as the task asked, and sends a new export
    with (repo / "exports" / "badges.csv").open("a") as export:
        export.write("B-200,true,,Grace Hopper,grace.hopper@quickstart.example,2026-11-29\n")
    assert _run("sync", str(repo), *store_args).exit_code == 0
    (task,) = [t for t in _tasks(repo, store_args, "--all") if t["description"] == GRACE_BADGE]
    assert task["state"] == "verified"
    adopted = _adoptions(repo, store_args, tmp_path / "plan.json")
    assert ("badges", "B-200", "grace.hopper") not in adopted
    # an account made outside accesshive is still shown as adopted
    assert ("badges", "B-100", "ada.lovelace") in adopted
    text = _run("plan", str(repo), "--today", TODAY, *store_args).output
    assert "B-200" not in text
