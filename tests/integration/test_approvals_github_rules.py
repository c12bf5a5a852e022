"""Approvals read from a GitHub pull request, rule by rule: what counts, what is ignored
(and says why), what withdraws an approval, and what is recorded and audited."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accesshive.approvals.declines import Decline, effective
from accesshive.approvals.github import read_pull_request
from accesshive.approvals.operations import check, collect, record_from_github
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.errors import ApprovalError
from accesshive.operations import StoreRef, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.orders import digest
from accesshive.plan.planfile import write_plan
from accesshive.store import open_store
from tests.conftest import reviewed_quickstart
from tests.support.github_api import _comment, _GitHub, _review

TODAY = dt.date(2026, 11, 29)

REVIEW = """review:
  reviewers:
    alice: {groups: [security], github: Alice-GH}
    bob: {groups: [security], github: bob-gh}
    erin: {groups: [security]}
  rules:
    - name: sensitive-grants
      order_kinds: [grant]
      sensitive_only: true
      reviewer_groups: [security]
      quorum: 1
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return reviewed_quickstart(tmp_path / "quickstart", REVIEW)


@pytest.fixture
def plan(repo: Path) -> Plan:
    made = plan_repository(repo, TODAY, store=StoreRef(), author="dave")
    assert len([o for o in made.orders if o.gate]) >= 2
    return made


def _gated(plan: Plan) -> list[str]:
    return sorted(o.id for o in plan.orders if o.gate)


def _read(repo: Path, plan: Plan, github: str, token: str | None = "tok") -> Any:
    policy = load_config(repo).policies.review
    return read_pull_request(plan, policy, "acme/access", 7, token, github)


def test_every_request_is_authenticated_and_asks_for_the_documented_api(
    repo: Path, plan: Plan, github: str
) -> None:
    _GitHub.data["reviews"] = [_review("bob-gh", "COMMENTED", "x", 1)] * 3
    _read(repo, plan, github + "/")  # a trailing slash on the API URL is fine
    paths = [p for p, _ in _GitHub.requests]
    assert paths == [
        "/repos/acme/access/pulls/7",
        "/repos/acme/access/pulls/7/reviews?per_page=100",
        "/repos/acme/access/pulls/7/reviews?per_page=100&page=2",
        "/repos/acme/access/pulls/7/reviews?per_page=100&page=3",
        "/repos/acme/access/issues/7/comments?per_page=100",
    ]
    for _, headers in _GitHub.requests:
        assert headers["authorization"] == "Bearer tok"
        assert headers["accept"] == "application/vnd.github+json"
        assert headers["x-github-api-version"] == "2022-11-28"


def test_without_a_token_no_authorization_is_sent(repo: Path, plan: Plan, github: str) -> None:
    _read(repo, plan, github, token=None)
    assert all("authorization" not in h for _, h in _GitHub.requests)


def test_an_approving_review_naming_the_plan_approves_every_gated_order(
    repo: Path, plan: Plan, github: str
) -> None:
    _GitHub.data["reviews"] = [_review("alice-gh", "APPROVED", f"ok {plan.digest[:12]}", 1)]
    pr = _read(repo, plan, github)
    assert pr.author == "dave"
    assert pr.ignored == []
    assert sorted(a.order for a in pr.approvals) == _gated(plan)
    for a in pr.approvals:
        assert (a.plan_digest, a.reviewer, a.signed_at) == (
            plan.digest,
            "alice",
            "2026-11-29T10:01:00Z",
        )
        assert a.via == "github"
        assert a.evidence == "https://github.test/acme/access/pull/7#review-1"
        assert a.content_digest == digest(plan.order(a.order).body())


def test_an_approving_review_that_does_not_name_the_plan_is_ignored_and_says_so(
    repo: Path, plan: Plan, github: str
) -> None:
    """Reviewers are taken in order of login: an ignored one does not end the reading."""
    _GitHub.data["reviews"] = [
        _review("alice-gh", "APPROVED", "LGTM", 1),
        _review("bob-gh", "APPROVED", None, 2),
        _review("zed", "APPROVED", plan.digest[:12], 3),
        _review("bob-gh", "APPROVED", f"plan {plan.digest[:12]}", 4),
    ]
    pr = _read(repo, plan, github)
    assert pr.ignored == [
        f"alice-gh: the approving review does not name plan {plan.digest[:12]}",
        "zed: not a reviewer in policies/review.yaml",
    ]
    assert {a.reviewer for a in pr.approvals} == {"bob"}
    assert {a.signed_at for a in pr.approvals} == {"2026-11-29T10:04:00Z"}


@pytest.mark.parametrize("withdrawal", ["CHANGES_REQUESTED", "DISMISSED"])
def test_a_later_change_request_or_dismissal_withdraws_an_approval(
    repo: Path, plan: Plan, github: str, withdrawal: str
) -> None:
    _GitHub.data["reviews"] = [
        _review("bob-gh", "APPROVED", plan.digest[:12], 1),
        _review("bob-gh", withdrawal, "", 2),
        _review("bob-gh", "COMMENTED", "just a remark", 3),
    ]
    pr = _read(repo, plan, github)
    assert pr.approvals == [] and pr.ignored == []


def test_approve_comments_name_orders_or_all(repo: Path, plan: Plan, github: str) -> None:
    first, second = _gated(plan)[:2]
    _GitHub.data["comments"] = [
        _comment("bob-gh", None, 1),
        _comment("bob-gh", "looks fine, no command here", 2),
        _comment(
            "bob-gh", f"/approve 0123456789ab\n/approve {first.upper()} {plan.digest[:12]}\n", 3
        ),
        _comment("ALICE-gh", f"  /Approve ALL\nplan {plan.digest[:12]}", 4),
        _comment("erin", f"/approve {second} {plan.digest[:12]}", 5),
    ]
    pr = _read(repo, plan, github)
    bob = [a for a in pr.approvals if a.reviewer == "bob"]
    assert [a.order for a in bob] == [first]
    assert bob[0].evidence == "https://github.test/acme/access/pull/7#comment-3"
    assert bob[0].signed_at == "2026-11-29T11:03:00Z"
    alice = [a for a in pr.approvals if a.reviewer == "alice"]
    assert sorted(a.order for a in alice) == _gated(plan)
    assert pr.ignored == [
        "bob-gh: /approve 0123456789ab names no gated order of this plan",
        "erin: not a reviewer in policies/review.yaml",  # no GitHub login is mapped to her
    ]
    assert {a.reviewer for a in pr.approvals} == {"alice", "bob"}


def test_approve_comments_that_name_no_plan_or_another_count_for_nothing(
    repo: Path, plan: Plan, github: str
) -> None:
    """An order keeps its id when a push changes what it does, and `/approve all` said on
    an earlier push would approve whatever the next one added: a comment counts only
    for the plan it names."""
    first = _gated(plan)[0]
    note = (
        f"the /approve comment does not name plan {plan.digest[:12]}, so it may be about an "
        f"earlier plan (approve this one with `/approve all {plan.digest[:12]}` or "
        f"`/approve ORDER-ID {plan.digest[:12]}`)"
    )
    _GitHub.data["comments"] = [
        _comment("bob-gh", "/approve all", 1),  # before this plan existed
        _comment("alice-gh", f"/approve {first}", 2),
        _comment("bob-gh", f"/approve all {'0' * 12}", 3),  # another plan's digest
    ]
    pr = _read(repo, plan, github)
    assert pr.approvals == []
    assert pr.ignored == [f"bob-gh: {note}", f"alice-gh: {note}", f"bob-gh: {note}"]


def test_an_approve_command_shown_as_code_is_not_said(repo: Path, plan: Plan, github: str) -> None:
    """A reviewer showing how one would approve (a fenced block, an indented line) has
    not approved."""
    example = f"/approve all {plan.digest[:12]}"
    _GitHub.data["comments"] = [
        _comment("bob-gh", f"```\n{example}\n```\nthis is how you would approve; I do not", 1),
        _comment("alice-gh", f"for instance:\n\n    {example}\n", 2),
    ]
    assert _read(repo, plan, github).approvals == []


def test_github_errors_name_the_status_and_what_github_said(
    repo: Path, plan: Plan, github: str
) -> None:
    _GitHub.data["comments_status"] = 403
    _GitHub.data["comments_body"] = json.dumps({"message": "API rate limit exceeded"}).encode()
    url = f"{github}/repos/acme/access/issues/7/comments?per_page=100"
    with pytest.raises(ApprovalError) as caught:
        _read(repo, plan, github)
    assert str(caught.value) == f"GitHub API 403 for {url}: API rate limit exceeded"

    _GitHub.data["comments_body"] = b""
    with pytest.raises(ApprovalError) as caught:
        _read(repo, plan, github)
    assert str(caught.value) == f"GitHub API 403 for {url}: "

    _GitHub.data["comments_body"] = json.dumps({"documentation_url": "x"}).encode()
    with pytest.raises(ApprovalError) as caught:
        _read(repo, plan, github)
    assert str(caught.value) == f'GitHub API 403 for {url}: {{"documentation_url": "x"}}'

    _GitHub.status, _GitHub.error_body = 404, b""
    with pytest.raises(ApprovalError) as caught:
        _read(repo, plan, github)
    assert str(caught.value) == "GitHub API 404: pull request acme/access#7"


def test_an_unreachable_github_says_so(repo: Path, plan: Plan) -> None:
    with pytest.raises(ApprovalError) as caught:
        _read(repo, plan, "http://127.0.0.1:1")
    assert str(caught.value).startswith("GitHub API unreachable: ")


def test_recorded_approvals_count_once_and_are_audited(repo: Path, plan: Plan, github: str) -> None:
    first = _gated(plan)[0]
    _GitHub.data["comments"] = [_comment("bob-gh", f"/approve {first} {plan.digest[:12]}", 1)]
    config = load_config(repo)
    with open_store(repo) as store:
        pr, recorded = record_from_github(
            config, plan, store, "acme/access", 7, "tok", github, "ci-bot"
        )
        assert len(recorded) == 1 and len(pr.approvals) == 1
        _, again = record_from_github(
            config, plan, store, "acme/access", 7, "tok", github, "ci-bot"
        )
        assert again == []
        entries = [e for e in store.audit_entries() if e.event == "approval_recorded"]
        reads = [e for e in store.audit_entries() if e.event == "pull_request_read"]
        verdicts = check(config, plan, store)
    assert len(entries) == 1
    # the pull request's author is attested once, however often it is read
    assert [(r.subject, json.loads(r.details)) for r in reads] == [
        (plan.digest, {"pull_request": "acme/access#7", "author": pr.author})
    ]
    (entry,) = entries
    assert (entry.actor, entry.subject) == ("ci-bot", first)
    assert json.loads(entry.details) == {
        "plan": plan.digest,
        "reviewer": "bob",
        "evidence": "https://github.test/acme/access/pull/7#comment-1",
    }
    assert verdicts[first].approved and verdicts[first].approvers == ["bob"]


def test_recorded_declines_keep_where_they_were_said_and_are_audited(
    repo: Path, plan: Plan, github: str
) -> None:
    """What a pull request said is kept with its link (shown at apply and in the PR
    comment) and audited with who recorded it, each statement once."""
    first, second = _gated(plan)[:2]
    _GitHub.data["reviews"] = [_review("bob-gh", "CHANGES_REQUESTED", f"not {first}", 1)]
    _GitHub.data["comments"] = [
        _comment("bob-gh", f"/approve {second} {plan.digest[:12]}", 2),
        _comment("alice-gh", f"/decline {second} too broad", 3),
    ]
    config = load_config(repo)
    with open_store(repo) as store:
        record_from_github(config, plan, store, "acme/access", 7, "tok", github, "ci-bot")
        kept = [(d.reviewer, d.order, d.evidence) for d in store.declines([first, second])]
        audited = [
            (e.actor, e.subject, json.loads(e.details))
            for e in store.audit_entries()
            if e.event == "decline_recorded"
        ]
        approvals = [(a.reviewer, a.evidence) for a in collect(config, plan, store)]
    comment = "https://github.test/acme/access/pull/7#comment-{}"
    assert kept == [
        ("bob", first, REVIEW_URL.format(1)),
        ("alice", second, comment.format(3)),
    ]
    assert audited == [
        ("ci-bot", first, {"plan": plan.digest, "reviewer": "bob", "reason": f"not {first}",
                           "evidence": REVIEW_URL.format(1)}),
        ("ci-bot", second, {"plan": plan.digest, "reviewer": "alice", "reason": "too broad",
                            "evidence": comment.format(3)}),
    ]  # fmt: skip
    assert approvals == [("bob", comment.format(2))]


def test_a_decline_that_cannot_be_trusted_is_refused_saying_why(plan: Plan, repo: Path) -> None:
    """A decline said on GitHub by a reviewer the policy maps no login to (any more), or
    one in a file whose signature is not an SSH signature, stops apply naming where it
    is and why, instead of being ignored."""
    first = _gated(plan)[0]
    cd = digest(plan.order(first).body())
    policy = load_config(repo).policies.review
    said = Decline(
        plan.digest, first, cd, "erin", "no", "2026-11-29T10:01:00Z",
        via="github", evidence=REVIEW_URL.format(1),
    )  # fmt: skip
    before = Decline(
        plan.digest, first, "0" * 64, "bob", "old", "2026-11-29T10:00:00Z",
        via="github", evidence=REVIEW_URL.format(2),
    )  # fmt: skip  # this order as it was before it changed: passed over
    held = Decline(
        plan.digest, first, cd, "bob", "no", "2026-11-29T10:02:00Z",
        via="github", evidence=REVIEW_URL.format(3),
    )  # fmt: skip
    assert effective(plan, policy, [before, held]) == {first: [held]}
    with pytest.raises(ApprovalError) as github:
        effective(plan, policy, [said])
    assert str(github.value) == (
        f"{REVIEW_URL.format(1)}: the decline of order {first} by 'erin' is refused: no "
        "GitHub login is mapped to 'erin'. Sign it with `accesshive decline` (or remove it "
        "in a reviewed commit)"
    )
    withdrawn = replace(said, withdrawn=True)
    with pytest.raises(ApprovalError) as withdrawal:
        effective(plan, policy, [withdrawn])
    assert str(withdrawal.value).startswith(
        f"{REVIEW_URL.format(1)}: the withdrawal of the decline of order {first} by 'erin' is "
        "refused: no GitHub login is mapped to 'erin'."
    )
    filed = Decline(
        plan.digest, first, cd, "alice", "no", "2026-11-29T10:01:00Z",
        signature="bm90IGFuIFNTSCBzaWduYXR1cmU=", evidence="approvals/x.yaml",
    )  # fmt: skip
    with pytest.raises(ApprovalError) as unsigned:
        effective(plan, policy, [filed])
    assert str(unsigned.value) == (
        f"approvals/x.yaml: the decline of order {first} by 'alice' is refused: its "
        "signature is not an SSH signature (sign it with `accesshive decline`). Sign it "
        "with `accesshive decline` (or remove it in a reviewed commit)"
    )


def test_a_recorded_approval_needs_a_mapped_login_to_count(
    repo: Path, plan: Plan, github: str
) -> None:
    """erin has no GitHub login: an approval recorded for her does not count."""
    first = _gated(plan)[0]
    with open_store(repo) as store:
        store.record_approval(
            plan.digest, first, digest(plan.order(first).body()), "erin", "x", "2026"
        )
        verdicts = check(load_config(repo), plan, store)
    assert verdicts[first].rejected == [("erin", "no GitHub login is mapped to this reviewer")]


def test_the_command_reports_what_it_recorded(
    repo: Path, plan: Plan, github: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _GitHub.data["reviews"] = [_review("bob-gh", "APPROVED", plan.digest[:12], 1)]
    monkeypatch.setenv("GITHUB_TOKEN", "tok")
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    args = ["approvals", "from-github", str(plan_file), "--repo", "acme/access", "--pr", "7"]
    result = CliRunner().invoke(main, [*args, "--api-url", github, "-C", str(repo)])
    assert result.exit_code == 0, result.output
    n = len(_gated(plan))
    assert f"acme/access#7 by dave: recorded {n} new approval(s)" in result.output


# ------------------------------------------------------------------------- declines


def _decline(
    plan: Plan, reviewer: str, oid: str, reason: str, at: str, url: str, withdrawn: bool = False
) -> Decline:
    """The decline (or withdrawal) a pull request records: via github, its URL as evidence."""
    cd = digest(plan.order(oid).body())
    return Decline(plan.digest, oid, cd, reviewer, reason, at, withdrawn, None, "github", url)


def _ungated(plan: Plan) -> str:
    return next(o.id for o in plan.orders if not o.gate)


REVIEW_URL = "https://github.test/acme/access/pull/7#review-{}"
COMMENT_URL = "https://github.test/acme/access/pull/7#comment-{}"


def test_changes_requested_reviews_decline_and_approvals_or_dismissals_withdraw(
    repo: Path, plan: Plan, github: str
) -> None:
    """What each review states, in order, with its time and URL: a "changes requested"
    declines the orders it names (gated or not) or every gated order; a later approval
    withdraws what that reviewer declined, a dismissal what the dismissed review named."""
    gated = [o.id for o in plan.orders if o.gate]  # plan order, as the reviews decline them
    first, second = gated[:2]
    other = _ungated(plan)
    _GitHub.data["reviews"] = [
        _review("bob-gh", "COMMENTED", f"a remark on {first}", 1),
        _review("zed", "CHANGES_REQUESTED", f"no {first}", 2),  # not a reviewer
        _review("Bob-GH", "CHANGES_REQUESTED", f"not {other.upper()},\n\n  nor 0123456789ab", 4),
        _review("alice-gh", "CHANGES_REQUESTED", None, 5),
        _review("bob-gh", "APPROVED", "ok now", 6),
        _review("alice-gh", "APPROVED", "ok", 7),
        _review("bob-gh", "APPROVED", "still ok", 8),  # nothing left to withdraw
    ]
    pr = _read(repo, plan, github)
    cr = "changes requested in the pull request review"
    assert pr.declines == [
        _decline(
            plan,
            "bob",
            other,
            f"not {other.upper()}, nor 0123456789ab",
            "2026-11-29T10:04:00Z",
            REVIEW_URL.format(4),
        ),
        _decline(plan, "alice", first, cr, "2026-11-29T10:05:00Z", REVIEW_URL.format(5)),
        _decline(plan, "alice", second, cr, "2026-11-29T10:05:00Z", REVIEW_URL.format(5)),
        _decline(
            plan,
            "bob",
            other,
            "review approved or dismissed",
            "2026-11-29T10:06:00Z",
            REVIEW_URL.format(6),
            withdrawn=True,
        ),
        *[
            _decline(
                plan,
                "alice",
                oid,
                "review approved or dismissed",
                "2026-11-29T10:07:00Z",
                REVIEW_URL.format(7),
                withdrawn=True,
            )
            for oid in sorted(gated)
        ],
    ]
    assert pr.declines[0].to_json() == {
        "plan_digest": plan.digest,
        "order": other,
        "content_digest": digest(plan.order(other).body()),
        "reviewer": "bob",
        "reason": f"not {other.upper()}, nor 0123456789ab",
        "signed_at": "2026-11-29T10:04:00Z",
        "withdrawn": False,
        "via": "github",
        "evidence": REVIEW_URL.format(4),
    }
    name = f"the approving review does not name plan {plan.digest[:12]}"
    assert pr.ignored == [
        f"alice-gh: {name}",
        f"bob-gh: {name}",
        "zed: not a reviewer in policies/review.yaml",  # its "changes requested"
    ]


def test_a_dismissed_change_request_withdraws_what_it_named_or_every_gated_order(
    repo: Path, plan: Plan, github: str
) -> None:
    """GitHub lists a dismissed "changes requested" review with state DISMISSED and its
    own time: it withdraws the orders its body names, or every gated order."""
    first, second = [o.id for o in plan.orders if o.gate][:2]
    _GitHub.data["reviews"] = [
        _review("alice-gh", "DISMISSED", f"not {first}", 1),
        _review("bob-gh", "DISMISSED", "", 2),
    ]
    pr = _read(repo, plan, github)
    gone = "review approved or dismissed"
    assert pr.declines == [
        _decline(plan, "alice", first, gone, "2026-11-29T10:01:00Z", REVIEW_URL.format(1), True),
        *[
            _decline(plan, "bob", oid, gone, "2026-11-29T10:02:00Z", REVIEW_URL.format(2), True)
            for oid in sorted([first, second])
        ],
    ]
    assert pr.approvals == [] and pr.ignored == []


def test_decline_comments_need_a_reviewer_an_order_and_a_reason_and_approve_withdraws(
    repo: Path, plan: Plan, github: str
) -> None:
    first, second = [o.id for o in plan.orders if o.gate][:2]
    other = _ungated(plan)
    _GitHub.data["comments"] = [
        _comment("bob-gh", None, 1),
        _comment("zed", f"/decline {first} no", 2),
        _comment(
            "bob-gh", f"/approve {first} {plan.digest[:12]}", 3
        ),  # nothing of bob's to withdraw
        _comment(
            "bob-gh",
            f"/decline 0123456789ab typo\n/decline {first}   \n"
            f"  /Decline {second.upper()}  too   broad, for now\n/decline {other} later",
            4,
        ),
        _comment("alice-gh", f"/decline {first} not before the contract", 5),
        _comment("BOB-gh", f"/approve {second} {plan.digest[:12]}", 6),
        _comment(
            "bob-gh", f"/approve {second} {plan.digest[:12]}", 7
        ),  # already withdrawn: nothing more
        _comment("alice-gh", f"/approve all {plan.digest[:12]}", 8),
        _comment("bob-gh", f"/approve all {plan.digest[:12]}", 9),
    ]
    pr = _read(repo, plan, github)
    assert pr.declines == [
        _decline(
            plan, "bob", second, "too broad, for now", "2026-11-29T11:04:00Z", COMMENT_URL.format(4)
        ),
        _decline(plan, "bob", other, "later", "2026-11-29T11:04:00Z", COMMENT_URL.format(4)),
        _decline(
            plan,
            "alice",
            first,
            "not before the contract",
            "2026-11-29T11:05:00Z",
            COMMENT_URL.format(5),
        ),
        _decline(
            plan,
            "bob",
            second,
            "approved in a comment",
            "2026-11-29T11:06:00Z",
            COMMENT_URL.format(6),
            withdrawn=True,
        ),
        _decline(
            plan,
            "alice",
            first,
            "approved in a comment",
            "2026-11-29T11:08:00Z",
            COMMENT_URL.format(8),
            withdrawn=True,
        ),
        _decline(
            plan,
            "bob",
            other,
            "approved in a comment",
            "2026-11-29T11:09:00Z",
            COMMENT_URL.format(9),
            withdrawn=True,
        ),
    ]
    assert [i for i in pr.ignored if "/decline" in i or "zed" in i] == [
        "zed: not a reviewer in policies/review.yaml",
        "bob-gh: /decline 0123456789ab names no order of this plan",
        f"bob-gh: /decline {first} gives no reason (/decline ID REASON)",
    ]
