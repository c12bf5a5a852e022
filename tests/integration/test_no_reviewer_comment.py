"""The PR comment of a repository that declares no reviewer says to declare them.

The quickstart ships the default review rules (sensitive grants are gated) and no
reviewer: an ``accesshive approve`` command would refuse every key, so the comment says
where to declare reviewers instead. Once one is declared, it says how to approve.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from tests.support.ssh import keygen

TODAY = "2026-11-29"
DECLARE = (
    "No reviewer is declared to approve them, so none can be approved yet: list "
    "reviewers, with their groups and SSH public keys, under review.reviewers in "
)
APPROVE = "Approve with `accesshive approve "


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _plan(repo: Path) -> tuple[Path, Result]:
    plan_file = repo.parent / "plan.json"
    made = _run(
        "plan", str(repo), "--out", str(plan_file), "--today", TODAY, "--format", "markdown"
    )
    assert made.exit_code == 0, made.output
    return plan_file, made


def test_no_reviewer_declared_the_comment_says_to_declare_them(
    synced_quickstart: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = synced_quickstart
    plan_file, made = _plan(repo)
    for output in (
        made.output,
        _run("show", str(plan_file), "--format", "markdown", "-C", str(repo)).output,
    ):
        assert "#### Waiting for review" in output
        assert DECLARE in output
        assert APPROVE not in output
    # from the repository, as the user runs it: the plan is known to be its own
    monkeypatch.chdir(repo)
    here = _run("show", str(plan_file), "--format", "markdown").output
    assert (
        DECLARE + 'policies/review.yaml (README: "Review gates and approvals"), then plan again.'
        in here
    )


def test_with_a_reviewer_the_comment_says_how_to_approve(synced_quickstart: Path) -> None:
    repo = synced_quickstart
    public = keygen(repo.parent / "alice")
    (repo / "policies").mkdir()
    (repo / "policies" / "review.yaml").write_text(
        "review:\n  reviewers:\n    alice:\n      groups: [security]\n"
        f'      public_keys: ["{public}"]\n'
        "  rules:\n    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true,\n"
        "       reviewer_groups: [security]}\n"
    )
    plan_file, made = _plan(repo)
    shown = _run("show", str(plan_file), "--format", "markdown", "-C", str(repo)).output
    for output in (made.output, shown):
        assert APPROVE in output
        assert DECLARE not in output


def test_the_first_reviewers_declared_after_an_apply_can_approve(
    synced_quickstart: Path, tmp_path: Path
) -> None:
    """The quickstart as its README runs it: an apply with no reviewer declared leaves the
    sensitive grants waiting, with policies that name no reviewer in force. Following the
    hint, reviewers are declared and sign the plan: the apply of that plan puts them in
    force (nobody could have approved anything before them), and the next apply of the
    same plan counts their approvals. No dead end."""
    repo = synced_quickstart
    first = _run("apply", "--auto-approve", str(repo), "--today", TODAY)
    assert first.exit_code == 6, first.output
    public = keygen(tmp_path / "alice")
    (repo / "policies").mkdir(exist_ok=True)
    (repo / "policies" / "review.yaml").write_text(
        "review:\n  reviewers:\n    alice:\n      groups: [security]\n"
        f'      public_key: "{public}"\n  rules:\n'
        "    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true, "
        "reviewer_groups: [security]}\n"
    )
    plan_file = repo.parent / "plan.json"
    assert _run("plan", str(repo), "--out", str(plan_file), "--today", TODAY).exit_code == 0
    signed = _run(
        "approve", str(plan_file), "--all-gated", "--key", str(tmp_path / "alice"), "-C", str(repo)
    )
    assert "signed" in signed.output, signed.output
    assert "no reviewer is in force yet" in signed.output  # so: apply twice
    applied = _run("apply", str(plan_file), "-C", str(repo), "--today", TODAY)
    assert applied.exit_code == 6, applied.output  # not counted yet: alice is not in force
    assert "The reviewers this change declares are in force now" in applied.output
    assert f"`accesshive apply {plan_file} -C {repo}`" in applied.output
    again = _run("apply", str(plan_file), "-C", str(repo), "--today", TODAY, "--format", "json")
    states = {oid: o["state"] for oid, o in json.loads(again.stdout)["orders"].items()}
    assert "awaiting_approval" not in states.values(), again.output
