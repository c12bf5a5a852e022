"""Retrying an approved step that failed on the target, end to end through the CLI, with
the store on SQLite and on PostgreSQL and the quickstart's real SQLite wiki as the target
(refusing the grant with a trigger while it is "under maintenance"): the approval of the
identical order carries to the retry's plan, is audited as carried, and the step is
sent; an approval carries to nothing else (a plan never applied, a reviewer the policy no
longer allows)."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from pathlib import Path

import pytest

from accesshive.plan.planfile import read_plan
from tests.integration import test_declines
from tests.integration.test_declines import (
    TODAY,
    _apply,
    _audit,
    _key,
    _ok,
    _order,
    _plan,
    _run,
    _status,
)

pytestmark = test_declines.pytestmark
repo = test_declines.repo  # the quickstart with alice (security) and the review rule

REFUSE = (
    "CREATE TRIGGER maintenance BEFORE INSERT ON user_groups "
    "WHEN NEW.group_name = 'wiki-admins' BEGIN SELECT raise(abort, 'maintenance'); END"
)


def _wiki(repo: Path, sql: str) -> None:
    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        db.execute(sql)


def _approve(repo: Path, plan_file: Path) -> None:
    _ok(
        _run(
            "approve", str(plan_file), "--all-gated", "--key", _key(repo), "--as", "alice",
            "-C", str(repo),
        )
    )  # fmt: skip


def _retry(repo: Path, store_args: list[str]) -> tuple[int, dict[str, str]]:
    args = ["retry", "grace.hopper", "-C", str(repo), "--today", TODAY, "--format", "json"]
    result = _run(*args, *store_args)
    out = json.loads(result.stdout)
    return result.exit_code, {oid: o["state"] for oid, o in out["orders"].items()}


def _failed_approved_grant(repo: Path, store_args: list[str]) -> tuple[Path, str]:
    """The gated orders approved and applied while the wiki refuses its sensitive grant:
    that grant errored."""
    plan_file = _plan(repo, store_args)
    admins = _order(plan_file, "grant", "grace.hopper", "wiki-admins")
    _approve(repo, plan_file)
    _wiki(repo, REFUSE)
    result, out = _apply(repo, plan_file, store_args)
    assert result.exit_code != 0
    assert out["orders"][admins]["state"] == "errored", out["orders"][admins]
    assert "maintenance" in out["orders"][admins]["message"]
    _wiki(repo, "DROP TRIGGER maintenance")
    return plan_file, admins


def test_retry_sends_the_approved_step_that_failed(repo: Path, store_args: list[str]) -> None:
    plan_file, admins = _failed_approved_grant(repo, store_args)

    code, states = _retry(repo, store_args)
    assert code == 6  # her badge is a manual task, still with facilities
    assert states[admins] == "verified"
    shown = _run("state", "show", str(repo), *store_args).output
    runs = [line for line in shown.splitlines() if line.strip().startswith("run ")]
    assert runs[0].endswith("(whole plan)") and runs[-1].endswith("(a plan of grace.hopper only)")
    steps = _status(repo, store_args)["grace.hopper"]["steps"]
    assert [s["state"] for s in steps if s["order"] == admins] in ([], ["verified"])
    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        assert db.execute(
            "SELECT count(*) FROM user_groups WHERE group_name = 'wiki-admins'"
        ).fetchone() == (1,)

    # audited: whose approval, signed for which plan, carried to the retry's plan
    (carried,) = [e for e in _audit(repo, store_args, "approval_carried") if e["subject"] == admins]
    assert carried["approvals"] == [
        {"reviewer": "alice", "signed_for": read_plan(plan_file).digest}
    ]
    assert carried["plan"] != read_plan(plan_file).digest


def test_an_approval_is_not_carried_once_its_reviewer_is_no_longer_allowed(
    repo: Path, store_args: list[str]
) -> None:
    _, admins = _failed_approved_grant(repo, store_args)
    policy = repo / "policies" / "review.yaml"
    policy.write_text(policy.read_text().replace("{groups: [security]", "{groups: [hr]"))

    code, states = _retry(repo, store_args)
    assert code != 0
    assert states[admins] == "awaiting_approval"
    assert _audit(repo, store_args, "approval_carried") == []


def test_an_approval_of_a_plan_never_applied_is_not_carried(
    repo: Path, store_args: list[str]
) -> None:
    first = _plan(repo, store_args)
    admins = _order(first, "grant", "grace.hopper", "wiki-admins")
    _approve(repo, first)
    # another plan of the same orders (proposed by someone: another digest), applied
    second = repo.parent / "plan2.json"
    _ok(
        _run(
            "plan", str(repo), "--out", str(second), "--today", TODAY, "--author", "grace",
            *store_args,
        )
    )  # fmt: skip
    assert read_plan(second).digest != read_plan(first).digest
    assert _order(second, "grant", "grace.hopper", "wiki-admins") == admins
    result, out = _apply(repo, second, store_args)
    assert result.exit_code == 6, result.output
    assert out["orders"][admins]["state"] == "awaiting_approval"


@pytest.mark.parametrize("store_args", ["sqlite"], indirect=True)
def test_an_approval_is_not_carried_to_a_changed_order(repo: Path, store_args: list[str]) -> None:
    """The approval is for the order as the reviewer saw it: once the order changes, the
    failed step waits for a new approval."""
    _, admins = _failed_approved_grant(repo, store_args)
    # the grant now comes from another access profile (its details change)
    access = repo / "access.yaml"
    text = access.read_text().replace("  wiki-admin:", "  wiki-administration:")
    access.write_text(text.replace("[wiki-admin,", "[wiki-administration,"))
    code, states = _retry(repo, store_args)
    assert code != 0
    assert admins not in [e["subject"] for e in _audit(repo, store_args, "approval_carried")]
    assert states[admins] == "awaiting_approval"


@pytest.mark.parametrize("store_args", ["sqlite"], indirect=True)
def test_a_retry_waiting_for_approval_says_how_to_have_it_approved(
    repo: Path, store_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry's own plan is no file a reviewer can approve: it prints the commands that
    make one, approve it and apply it for the identity, runnable as printed."""
    _, admins = _failed_approved_grant(repo, store_args)
    access = repo / "access.yaml"
    text = access.read_text().replace("  wiki-admin:", "  wiki-administration:")
    access.write_text(text.replace("[wiki-admin,", "[wiki-administration,"))
    monkeypatch.chdir(repo.parent)
    retried = _run("retry", "grace.hopper", "-C", str(repo), "--today", TODAY)
    assert retried.exit_code == 6, retried.output
    assert (
        f"Waiting for approval (1): {admins}. No reviewer has approved them as they stand: an "
        "approval given in an earlier plan counts only for the identical order, once that plan "
        "was applied, and only while that order is not done (a retry, never a grant given "
        "again). To have them approved:\n"
    ) in retried.output
    hints = re.findall(r"^  `accesshive (.+)`$", retried.output, re.M)
    assert [h.split()[0] for h in hints[-3:]] == ["plan", "approve", "apply"], retried.output
    for hint in hints[-3:]:
        args = shlex.split(hint.replace("~/.ssh/id_ed25519", _key(repo)))
        if args[0] == "approve":
            args += ["--as", "alice"]
        done = _run(*args, "--today", TODAY) if args[0] != "approve" else _run(*args)
        assert done.exit_code in (0, 6), done.output
    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        assert db.execute(
            "SELECT count(*) FROM user_groups WHERE group_name = 'wiki-admins'"
        ).fetchone() == (1,)


@pytest.mark.parametrize("store_args", ["sqlite"], indirect=True)
def test_a_retry_with_no_approval_anywhere_does_not_speak_of_earlier_ones(
    repo: Path, store_args: list[str]
) -> None:
    """Nothing was ever approved in this repository: the retry says the orders wait for a
    first approval, not that an approval of an earlier plan does not count."""
    assert not (repo / "approvals").exists()
    retried = _run("retry", "grace.hopper", "-C", str(repo), "--today", TODAY, *store_args)
    assert retried.exit_code == 6, retried.output
    assert "No reviewer has approved them yet. To have them approved:\n" in retried.output
    assert "earlier plan" not in retried.output


def test_the_pr_comment_says_an_approval_was_carried_and_from_which_plan(
    repo: Path, store_args: list[str]
) -> None:
    """A reviewer reading the comment of the next plan sees that the approval of the
    failed grant is one carried from the earlier plan, not one given to this plan."""
    plan_file, admins = _failed_approved_grant(repo, store_args)
    first = read_plan(plan_file).digest
    people = repo / "identities" / "people.yaml"  # another change, so another plan
    people.write_text(
        people.read_text().replace(
            "identities:\n",
            "identities:\n  new.starter:\n    type: human\n    attributes:\n"
            "      given_name: New\n      family_name: Starter\n"
            "      email: new.starter@quickstart.example\n      department: Sales\n"
            "      employee_number: 1077\n",
            1,
        )
    )
    again = _plan(repo, store_args)
    assert read_plan(again).digest != first
    shown = _run("show", str(again), "--format", "markdown", "-C", str(repo), *store_args)
    row = next(line for line in shown.output.splitlines() if line.startswith(f"| `{admins[:12]}`"))
    assert f"alice (carried from plan {first[:12]})" in row, row
