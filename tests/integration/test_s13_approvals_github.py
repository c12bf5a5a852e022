"""`accesshive approvals from-github` against the GitHub REST stand-in
(tests/support/github_api.py), on the quickstart with reviewers alice and bob (real
ssh-keygen keys, GitHub logins alice-gh and bob-gh): an edited `/approve` comment
approves nothing (anyone with write access may edit a comment, which keeps its first
author's login), and the line that counts what was recorded says which of those will
not count, as `approvals verify` does."""

from __future__ import annotations

import re
from pathlib import Path

from accesshive.plan.planfile import read_plan
from tests.integration import test_own_access
from tests.integration.test_own_access import OWN, _gate, _plan, _run, _state, _verdict
from tests.support.github_api import _comment, _GitHub

pytestmark = test_own_access.pytestmark
repo = test_own_access.repo  # alice and bob (security); the change makes alice an ops admin


def _from_github(repo: Path, plan_file: Path, github: str) -> str:
    args = ["--repo", "acme/access", "--pr", "7", "--api-url", github, "-C", str(repo)]
    read_pr = _run("approvals", "from-github", str(plan_file), *args)
    assert read_pr.exit_code == 0, read_pr.output
    return read_pr.output


def test_an_edited_approve_comment_approves_nothing(repo: Path, github: str) -> None:
    """bob's morning comment, edited tonight by someone with write access to carry the
    plan's digest: still shown as bob's, counted for nothing, and said why."""
    plan_file = _plan(repo)
    grace = _gate(plan_file, "grace.hopper")
    digest = read_plan(plan_file).digest[:12]
    _GitHub.data["author"] = "carol-gh"
    _GitHub.data["comments"] = [
        _comment("bob-gh", f"/approve all {digest}", 1, edited_at="2026-11-29T22:00:00Z")
    ]
    out = _from_github(repo, plan_file, github)
    assert "acme/access#7 by carol-gh: recorded 0 new approval(s)\n" in out
    assert (
        "  ignored: bob-gh: the /approve comment https://github.test/acme/access/pull/7#comment-1 "
        "was edited after it was posted (at 2026-11-29T22:00:00Z); anyone with write access "
        "to the repository can edit a comment, and it still shows bob-gh as its author, so "
        "it approves nothing: bob-gh, post a new comment to approve"
    ) in out
    assert _verdict(repo, plan_file, grace)["approvers"] == []
    verify = _run("approvals", "verify", str(plan_file), "-C", str(repo))
    assert verify.exit_code == 6, verify.output
    assert _state(repo, plan_file, grace) == "awaiting_approval"

    # the new comment bob posts counts
    _GitHub.data["comments"].append(_comment("bob-gh", f"/approve {grace} {digest}", 2))
    out = _from_github(repo, plan_file, github)
    assert "recorded 1 new approval(s)\n" in out
    assert _verdict(repo, plan_file, grace)["approvers"] == ["bob"]


def test_an_edited_comment_does_not_withdraw_a_decline(repo: Path, github: str) -> None:
    """bob's `/decline`, then a comment of his edited to say `/approve` of it: the
    decline holds."""
    plan_file = _plan(repo)
    grace = _gate(plan_file, "grace.hopper")
    digest = read_plan(plan_file).digest[:12]
    _GitHub.data["author"] = "carol-gh"
    _GitHub.data["comments"] = [
        _comment("bob-gh", f"/decline {grace} not before her training", 1),
        _comment("bob-gh", f"/approve {grace} {digest}", 2, edited_at="2026-11-29T22:00:00Z"),
    ]
    _from_github(repo, plan_file, github)
    verify = _run("approvals", "verify", str(plan_file), "-C", str(repo))
    assert verify.exit_code == 1, verify.output
    assert "not before her training" in verify.output


def test_the_recorded_count_says_which_approvals_will_not_count(repo: Path, github: str) -> None:
    """alice's `/approve all` is recorded for every gated order, her own grant among them:
    the line says so, with the reason `approvals verify` gives."""
    plan_file = _plan(repo)
    mine = _gate(plan_file, "alice")
    gated = [o.id for o in read_plan(plan_file).orders if o.gate]
    # her wiki-admins grant and her server-room badge (a manual task)
    own = sorted(
        o.id for o in read_plan(plan_file).orders if o.gate and o.change.identity == "alice"
    )
    assert mine in own and len(own) == 2
    digest = read_plan(plan_file).digest[:12]
    _GitHub.data["author"] = "carol-gh"
    _GitHub.data["comments"] = [_comment("alice-gh", f"/approve all {digest}", 1)]
    out = _from_github(repo, plan_file, github)
    assert (
        f"acme/access#7 by carol-gh: recorded {len(gated)} new approval(s), of which 2 will "
        "not count (`approvals verify` says the same)\n"
    ) in out
    assert re.findall(r"^  not counted: .*$", out, re.M) == [
        f"  not counted: alice on {oid} ({OWN})" for oid in own
    ]
    assert _verdict(repo, plan_file, mine)["rejected"] == [{"reviewer": "alice", "reason": OWN}]


def test_comments_and_reviews_without_html_url_are_read(repo: Path, github: str) -> None:
    """GitHub Enterprise versions and proxies may leave ``html_url`` out: the approval
    still counts (its evidence is then empty), an edited comment is still said, and
    nothing crashes."""
    plan_file = _plan(repo)
    grace = _gate(plan_file, "grace.hopper")
    digest = read_plan(plan_file).digest[:12]
    _GitHub.data["author"] = "carol-gh"
    approve = _comment("bob-gh", f"/approve {grace} {digest}", 1)
    edited = _comment("alice-gh", f"/approve all {digest}", 2, edited_at="2026-11-29T22:00:00Z")
    for comment in (approve, edited):
        del comment["html_url"]
    _GitHub.data["comments"] = [approve, edited]
    out = _from_github(repo, plan_file, github)
    assert "recorded 1 new approval(s)\n" in out
    assert "alice-gh: the /approve comment posted at 2026-11-29T11:02:00Z was edited" in out
    assert _verdict(repo, plan_file, grace)["approvers"] == ["bob"]
