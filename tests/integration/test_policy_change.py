"""A change that adds to or loosens the review policies in force is itself reviewed by
them: its policies go in force only once their reviewers approve it (the order
``policy-change``), while a change that only tightens goes in force as it always did.

Without this, a pull request that only added its author as a reviewer had no gated
order, went in force when applied, and the author approved their own grant in the next
one. Real SQLite store, the quickstart's real SQLite wiki, approvals signed with real
ssh-keygen keys."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.approvals.operations import check
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.errors import ForgedPlanError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import POLICY_CHANGE, Plan
from accesshive.plan.planfile import read_plan, write_plan
from accesshive.policies_in_force import PoliciesInForce
from accesshive.store import open_store
from tests.integration.test_policies_in_force import (
    _add_ops_admin_mallory,
    _add_reviewer,
    _review,
    applied,
)
from tests.integration.test_security_invariants import (
    STORE,
    TODAY,
    _key,
    _plan,
    _reviewed,
    _signed,
    _signed_policy_change,
    _wiki_admins,
    _wiki_gate,
    _write_file,
)

__all__ = ["applied"]  # the fixture, shared with test_policies_in_force

AT = "2026-11-29T10:00:00+00:00"
ON = ("--today", TODAY.isoformat())


def _orders_approved_by_alice(repo: Path, plan: Plan) -> list[dict[str, str]]:
    return [_signed(repo, plan, o.id, "alice", AT) for o in plan.orders if o.gate]


def _all_approved(repo: Path, plan: Plan, change_by: str) -> list[dict[str, str]]:
    """Every order approved by alice, and the policy change by ``change_by``."""
    return [
        *_orders_approved_by_alice(repo, plan),
        _signed_policy_change(repo, plan, change_by, AT),
    ]


def _in_force(repo: Path) -> PoliciesInForce:
    with open_store(repo) as store:
        text = store.policies_in_force()
    assert text is not None
    return PoliciesInForce.from_text(text)


def _add_mallory(repo: Path) -> None:
    """The pull request: only a reviewer, with the author's key; no other change."""
    _add_reviewer(repo, "mallory", "security")


def test_a_change_that_adds_a_reviewer_waits_for_the_reviewers_in_force(applied: Path) -> None:
    _add_mallory(applied)
    plan = _plan(applied)
    change = plan.policy_change
    assert change is not None
    assert change.loosens == ("reviewers added: mallory",)
    assert change.gate.reviewer_groups == ("security",) and change.gate.quorum == 1
    assert "once the policies in force approve it (the order policy-change" in plan.warnings[0]
    # every order of the plan approved by alice, the policy change by nobody
    _write_file(applied, plan, _orders_approved_by_alice(applied, plan))
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert "awaiting_approval" not in result.states.values()
    assert _wiki_admins(applied) == {"grace.hopper"}  # the orders ran
    assert result.policy_change is not None
    assert "reviewers added: mallory" in result.policy_change
    assert "needs 1 more approval(s) from security" in result.policy_change
    assert "mallory" not in _in_force(applied).review.reviewers
    with open_store(applied) as store:
        waiting = store.audit_details(plan.digest, ("policy_change_waiting",))
    assert len(waiting) == 1
    # the next pull request is judged by the policies in force still: mallory's approval
    # of her own change does not count
    _add_ops_admin_mallory(applied)
    nxt = _plan(applied)
    assert nxt.policy_change is not None and "reviewers added: mallory" in nxt.warnings[0]
    (grant,) = [o.id for o in nxt.orders if o.gate and o.change.entitlement == "wiki-admins"]
    _write_file(
        applied,
        nxt,
        [
            _signed(applied, nxt, grant, "mallory", AT),
            _signed_policy_change(applied, nxt, "mallory", AT),
        ],
    )
    result = apply_plan(applied, nxt, STORE, TODAY, "ci")
    assert result.states[grant] == "awaiting_approval"
    assert "not a reviewer there" in result.messages[grant]
    assert "mallory.m" not in _wiki_admins(applied)
    assert "mallory" not in _in_force(applied).review.reviewers


def test_approved_by_the_reviewers_in_force_the_change_goes_in_force(applied: Path) -> None:
    _add_mallory(applied)
    plan = _plan(applied)
    _write_file(applied, plan, _all_approved(applied, plan, change_by="alice"))
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.policy_change is None
    assert "mallory" in _in_force(applied).review.reviewers
    with open_store(applied) as store:
        (entry,) = store.audit_details(plan.digest, ("policies_in_force",))
    assert json.loads(entry[1])["approved_by"] == ["alice"]
    assert _plan(applied).policy_change is None  # nothing differs any more


def test_the_change_can_be_approved_after_its_orders_ran(applied: Path, tmp_path: Path) -> None:
    """Its orders done, the plan applied again once the policy change is approved: the
    policies go in force, and nothing is sent twice."""
    _add_mallory(applied)
    plan = _plan(applied)
    entries = _orders_approved_by_alice(applied, plan)
    _write_file(applied, plan, entries)
    first = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert first.policy_change is not None
    _write_file(applied, plan, [*entries, _signed_policy_change(applied, plan, "alice", AT)])
    again = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert again.policy_change is None
    assert "mallory" in _in_force(applied).review.reviewers


def test_the_reviewer_a_change_adds_cannot_approve_it(applied: Path) -> None:
    _add_mallory(applied)
    plan = _plan(applied)
    _write_file(applied, plan, _all_approved(applied, plan, change_by="mallory"))
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.policy_change is not None
    assert "mallory (under the review policy in force" in result.policy_change
    assert "not a reviewer there" in result.policy_change
    assert "mallory" not in _in_force(applied).review.reviewers


def test_a_change_that_only_tightens_goes_in_force_without_approval(applied: Path) -> None:
    text = _review(applied).read_text()
    text = text.replace("      github: bob-gh\n", "      github: bob-gh\n      revoked: true\n")
    _review(applied).write_text(
        text + "    - name: wiki-all\n      sources: [wiki]\n      reviewer_groups: [security]\n"
    )
    plan = _plan(applied)
    assert "revoked: bob" in plan.warnings[0] and "rules added: wiki-all" in plan.warnings[0]
    assert plan.policy_change is None
    _write_file(applied, plan, _orders_approved_by_alice(applied, plan))
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.policy_change is None, result.messages
    in_force = _in_force(applied)
    assert in_force.review.reviewers["bob"].revoked
    assert "wiki-all" in {r.name for r in in_force.review.rules}


def test_a_change_that_removes_every_reviewer_never_goes_in_force(applied: Path) -> None:
    text = _review(applied).read_text()
    start, end = text.index("  reviewers:\n"), text.index("  rules:\n")
    _review(applied).write_text(text[:start] + text[end:])
    plan = _plan(applied)
    assert plan.policy_change is not None
    assert any("no reviewer left who could approve" in x for x in plan.policy_change.loosens)
    _write_file(applied, plan, [_signed_policy_change(applied, plan, "alice", AT)])
    with open_store(applied) as store:
        verdict = check(load_config(applied), plan, store)[POLICY_CHANGE]
    assert not verdict.approved  # alice is no reviewer in the repository's policies
    assert verdict.rejected == [("alice", "not a reviewer in policies/review.yaml")]
    apply_plan(applied, plan, STORE, TODAY, "ci")
    assert set(_in_force(applied).review.reviewers) == {"alice", "bob", "carol"}


@pytest.mark.parametrize(
    ("edit", "loosens"),
    [
        (("sensitive-grants", "sensitive-grantz"), "rules removed: sensitive-grants"),
        (("quorum: 1", "quorum: 1\n      sources: [wiki]"), "rules changed: sensitive-grants"),
        (("allow_self_approval: false", "allow_self_approval: true"), "allow_self_approval"),
        (("groups: [finance]", "groups: [finance, security]"), "put in more groups: carol"),
        (("github: carol-gh", "github: mallory-gh"), "GitHub logins changed: carol"),
    ],
    ids=["rule-removed", "rule-narrowed", "self-approval", "groups", "github-login"],
)
def test_what_loosens_the_review_needs_the_approval_of_those_in_force(
    applied: Path, edit: tuple[str, str], loosens: str
) -> None:
    text = _review(applied).read_text()
    if "allow_self_approval" in edit[0] and edit[0] not in text:
        text = text.replace("review:\n", "review:\n  allow_self_approval: false\n", 1)
    assert edit[0] in text, text
    _review(applied).write_text(text.replace(edit[0], edit[1], 1))
    plan = _plan(applied)
    assert plan.policy_change is not None
    assert any(loosens in x for x in plan.policy_change.loosens), plan.policy_change.loosens


@pytest.mark.parametrize("edit", ["identity", "email"])
def test_a_reviewer_s_own_identity_changed_needs_the_approval_of_those_in_force(
    applied: Path, edit: str
) -> None:
    """Who a reviewer is tells which access is their own (never theirs to approve): a
    change that points alice's identity elsewhere, or drops her email, is a loosening."""
    text = _review(applied).read_text()
    line = "      identity: ada.lovelace\n" if edit == "identity" else "      email: a@x.example\n"
    _review(applied).write_text(
        text.replace("      github: alice-gh\n", "      github: alice-gh\n" + line)
    )
    plan = _plan(applied)
    assert plan.policy_change is not None
    assert any("own identity or email changed: alice" in x for x in plan.policy_change.loosens), (
        plan.policy_change.loosens
    )
    assert "reviewers' own identity or email changed: alice" in plan.warnings[0]


def test_a_flag_removed_needs_the_approval_of_those_in_force(applied: Path) -> None:
    wiki = applied / "sources" / "wiki.yaml"
    text = wiki.read_text()
    assert "sensitive: true" in text
    wiki.write_text(text.replace("sensitive: true", "sensitive: false"))
    plan = _plan(applied)
    assert plan.policy_change is not None
    assert any("no longer flagged sensitive" in x for x in plan.policy_change.loosens)


def test_who_approves_a_policy_change_is_set_in_force(applied: Path) -> None:
    """``review.policy_changes`` names who approves; a change that sets it is judged by
    the default (every rule in force's reviewers) until it is in force."""
    text = _review(applied).read_text()
    _review(applied).write_text(
        text + "  policy_changes:\n    reviewer_groups: [finance]\n    quorum: 1\n"
    )
    plan = _plan(applied)
    assert plan.policy_change is not None
    assert plan.policy_change.gate.reviewer_groups == ("security",)  # the rule in force's
    _write_file(applied, plan, _all_approved(applied, plan, change_by="alice"))
    assert apply_plan(applied, plan, STORE, TODAY, "ci").policy_change is None
    _add_mallory(applied)
    plan = _plan(applied)
    assert plan.policy_change is not None
    assert plan.policy_change.gate.reviewer_groups == ("finance",)
    _write_file(applied, plan, [_signed_policy_change(applied, plan, "alice", AT)])
    result = apply_plan(applied, plan, STORE, TODAY, "ci")
    assert result.policy_change is not None and "not in finance" in result.policy_change


def test_a_plan_file_without_its_policy_change_is_refused_as_forged(
    applied: Path, tmp_path: Path
) -> None:
    _add_mallory(applied)
    plan = _plan(applied)
    forged = replace(plan, policy_change=None)
    path = tmp_path / "forged.json"
    write_plan(forged, path)  # the package's own writer: the digest is recomputed
    with pytest.raises(ForgedPlanError, match="lacks the policy change"):
        apply_plan(applied, read_plan(path), STORE, TODAY, "ci")
    assert "mallory" not in _in_force(applied).review.reviewers


def test_the_user_sees_it_and_approves_it_with_the_cli(applied: Path, tmp_path: Path) -> None:
    _add_mallory(applied)
    plan_file = tmp_path / "plan.json"
    run = CliRunner()
    made = run.invoke(
        main,
        ["plan", str(applied), "--out", str(plan_file), "--author", "mallory-gh", *ON],
    )
    assert made.exit_code == 0, made.output
    assert f"change the review policies: reviewers added: mallory  [{POLICY_CHANGE}]" in (
        made.output
    )
    comment = run.invoke(
        main, ["show", str(plan_file), "--format", "markdown", "-C", str(applied)]
    ).output
    assert "#### Policy change: waiting for review" in comment
    headline = comment[comment.index("### Plan:") :].splitlines()[0]
    assert headline.endswith("; a change to the review policies in force, waiting for review")
    assert f"| `{POLICY_CHANGE}` | change the review policies: reviewers added: mallory |" in (
        comment
    )
    assert comment.index("Policy change") < comment.index("Waiting for review (")
    # mallory approves her change: it does not count
    at = ("-C", str(applied))
    mallory = str(_key(applied, "mallory"))
    signed = run.invoke(
        main,
        ["approve", str(plan_file), "--order", POLICY_CHANGE, "--key", mallory, *at],
    )
    assert signed.exit_code == 6, signed.output
    assert f"not counted: {POLICY_CHANGE}" in signed.output
    # --all-gated approves the orders, never the policy change (it is named)
    bob = str(_key(applied, "bob"))
    every = run.invoke(
        main, ["approve", str(plan_file), "--all-gated", "--key", bob, "-C", str(applied)]
    )
    assert every.exit_code == 0, every.output
    assert POLICY_CHANGE not in every.output.split("note:")[0]
    # alice approves the orders and the change, by name
    alice = str(_key(applied, "alice"))
    gated = [o.id for o in read_plan(plan_file).orders if o.gate]
    orders = [a for oid in gated for a in ("--order", oid)]
    approve = ["approve", str(plan_file), "--key", alice, "-C", str(applied)]
    assert run.invoke(main, [*approve, *orders]).exit_code == 0
    applied_out = run.invoke(
        main, ["apply", str(plan_file), "-C", str(applied), "--today", TODAY.isoformat()]
    )
    assert applied_out.exit_code == 6, applied_out.output  # waiting, as gated orders wait
    assert "Policy change waiting for approval" in applied_out.output
    hint = f"accesshive approve {plan_file} --order {POLICY_CHANGE} --key"
    assert hint in applied_out.output
    assert run.invoke(main, [*approve, "--order", POLICY_CHANGE]).exit_code == 0
    verify = run.invoke(main, ["approvals", "verify", str(plan_file), "-C", str(applied)])
    assert f"✓ {POLICY_CHANGE}  change the review policies" in verify.output, verify.output
    again = run.invoke(
        main,
        ["apply", str(plan_file), "-C", str(applied), *ON, "--format", "json"],
    )
    assert again.exit_code == 6, again.output  # the badge task is with its owner still
    assert json.loads(again.stdout)["policy_change"] is None
    assert "mallory" in _in_force(applied).review.reviewers


def test_the_first_apply_says_the_policy_change_waits_beside_the_orders(applied: Path) -> None:
    _add_mallory(applied)
    plan = _plan(applied)
    result = apply_plan(applied, plan, STORE, TODAY, "ci")  # nothing approved
    assert result.states[_wiki_gate(plan)] == "awaiting_approval"
    assert result.policy_change is not None
    assert "reviewers added: mallory" in result.policy_change


def test_a_rule_whose_group_has_no_reviewer_does_not_lock_the_policies(applied: Path) -> None:
    """A rule naming a group nobody is in (a tightening, in force with no approval) must
    not make every later policy change unapprovable, the one that would fix it included."""
    _review(applied).write_text(
        _review(applied).read_text()
        + "    - name: group-deletions\n      order_kinds: [delete_group]\n"
        "      reviewer_groups: [nobody]\n      quorum: 2\n"
        "    - name: two-of-security\n      order_kinds: [delete_group]\n"
        "      reviewer_groups: [security]\n      quorum: 3\n"
    )
    plan = _plan(applied)
    assert plan.policy_change is None  # only rules added
    _write_file(applied, plan, _orders_approved_by_alice(applied, plan))
    apply_plan(applied, plan, STORE, TODAY, "ci")
    assert "group-deletions" in {r.name for r in _in_force(applied).review.rules}
    _add_mallory(applied)
    plan = _plan(applied)
    assert plan.policy_change is not None
    gate = plan.policy_change.gate
    # security's needs, as far as its two reviewers can meet them; nobody's left out
    assert gate.reviewer_groups == ("security",)
    assert {(n.groups, n.quorum) for n in gate.needs()} == {(("security",), 1), (("security",), 2)}
    _write_file(
        applied,
        plan,
        [
            _signed_policy_change(applied, plan, "alice", AT),
            _signed_policy_change(applied, plan, "bob", AT),
        ],
    )
    assert apply_plan(applied, plan, STORE, TODAY, "ci").policy_change is None
    assert "mallory" in _in_force(applied).review.reviewers


def test_revoking_every_reviewer_is_never_put_in_force(applied: Path) -> None:
    text = _review(applied).read_text()
    for name in ("alice", "bob", "carol"):
        text = text.replace(
            f"      github: {name}-gh\n", f"      github: {name}-gh\n      revoked: true\n"
        )
    _review(applied).write_text(text)
    plan_file = applied.parent / "revoke.json"
    made = CliRunner().invoke(main, ["plan", str(applied), "--out", str(plan_file), *ON])
    assert made.exit_code == 0, made.output
    change = read_plan(plan_file).policy_change
    assert change is not None and any(
        "no reviewer left who could approve" in x for x in change.loosens
    )
    done = CliRunner().invoke(main, ["apply", str(plan_file), "-C", str(applied), *ON])
    assert done.exit_code == 6, done.output
    assert "Policy change not put in force" in done.output
    assert "Keep at least one reviewer who can approve" in done.output
    assert f"--order {POLICY_CHANGE}" not in done.output
    assert not _in_force(applied).review.reviewers["alice"].revoked


STAGING = """
default_environment: default
environments:
  default: {}
  staging:
    connections:
      wiki: {url: "sqlite:///.accesshive/wiki-staging.db"}
"""


def test_a_key_revoked_in_one_environment_counts_in_none(tmp_path: Path) -> None:
    """As the attacker trial ran it: staging was last applied before bob's key was revoked
    (in default only). A change makes staging the default, points staging's wiki at the
    production wiki, un-revokes bob and gives mallory.m ops-admin; bob approves. Staging's
    policies in force know no revocation, but default's do: bob's approval counts for
    nothing, and nothing is granted."""
    repo = _reviewed(tmp_path, quorum=1)
    project = repo / "accesshive.yaml"
    project.write_text(project.read_text() + STAGING)
    staging = StoreRef("staging")
    for env in (STORE, staging):
        assert (
            CliRunner()
            .invoke(main, ["sync", str(repo), "--env", env.environment or "default"])
            .exit_code
            == 0
        )
        plan = plan_repository(repo, TODAY, store=env, author="dave")
        _write_file(repo, plan, _orders_approved_by_alice(repo, plan))
        apply_plan(repo, plan, env, TODAY, "ci")
    # bob leaves: revoked, applied in default only
    review = repo / "policies" / "review.yaml"
    review.write_text(
        review.read_text().replace(
            "      github: bob-gh\n", "      github: bob-gh\n      revoked: true\n"
        )
    )
    plan = _plan(repo)
    _write_file(repo, plan, _orders_approved_by_alice(repo, plan))
    apply_plan(repo, plan, STORE, TODAY, "ci")
    # the change
    project.write_text(
        project.read_text()
        .replace("default_environment: default", "default_environment: staging")
        .replace("wiki-staging.db", "wiki-app.db")
    )
    review.write_text(review.read_text().replace("      revoked: true\n", ""))
    _add_ops_admin_mallory(repo)
    assert CliRunner().invoke(main, ["sync", str(repo)]).exit_code == 0
    plan = plan_repository(repo, TODAY, store=StoreRef(), author="mallory-gh")
    assert plan.environment == "staging"
    (grant,) = [
        o.id
        for o in plan.orders
        if o.gate and o.change.identity == "mallory.m" and o.change.entitlement == "wiki-admins"
    ]
    _write_file(repo, plan, [_signed(repo, plan, grant, "bob", AT)])
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert result.states[grant] == "awaiting_approval"
    assert (
        "revoked in the review policies in force of environment 'default'" in result.messages[grant]
    )
    assert "mallory.m" not in _wiki_admins(repo)
