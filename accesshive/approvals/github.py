"""Approvals from a GitHub pull request, read through the GitHub REST API (httpx).

What counts, from reviewers whose ``github`` login the review policy maps, when it names
the plan digest (its first 12 characters, as the plan comment asks):
- a comment line ``/approve ORDER-ID`` approves that order (several lines, several orders);
- ``/approve all`` in a comment, or an approving review, approves every gated order of
  the plan; its change to the review policies only ``/approve policy-change`` approves
  (approving a colleague's grants must not also approve the reviewer their change adds).
Why the digest, in comments too: an order keeps its id when its content changes (the
id names the step, e.g. "grant wiki-admins to ada"; the account it lands on can change
with a push), and a comment made before the plan existed (``/approve all`` on an earlier
push) would otherwise approve whatever a later push put in the plan.
A reviewer's approving review is withdrawn by a later "changes requested" or a
dismissal. Pages are followed through the ``Link`` header, as GitHub documents.

An edited comment (its ``updated_at`` is not its ``created_at``) approves nothing, and
withdraws no decline: anyone with write access to the repository may edit anyone's
comment, and the comment keeps its first author's login, so the words may not be the
reviewer's. It is ignored with a note that asks the reviewer to post a new comment. A
``/decline`` in it still holds (a decline only ever stops an order). Reviews are kept as
they are: only their author can edit them.

Declines, from the same mapped reviewers:
- a "changes requested" review (``state: CHANGES_REQUESTED``) declines the orders of
  the plan whose ids its body names, or every gated order when it names none; the
  reason is its body;
- a comment line ``/decline ORDER-ID reason`` declines that order (any order of the
  plan, gated or not); a line without a reason is ignored, with a note saying so.
A later approving review, or a review dismissed on GitHub (its state becomes
``DISMISSED``), withdraws what the reviewer's "changes requested" declined; a later
``/approve ORDER-ID`` (or ``/approve all``) withdraws the reviewer's ``/decline`` of it.
Every decline and withdrawal is kept with its time, so the latest statement of each
reviewer on an order decides, across plans of the same content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from accesshive.approvals.declines import Decline, one_line
from accesshive.approvals.model import Approval, content_digest, gated_of
from accesshive.config.policy import ReviewPolicy
from accesshive.errors import ApprovalError
from accesshive.plan.model import POLICY_CHANGE, Plan

_APPROVE = re.compile(
    r"^\s*/approve\s+([0-9a-f]{12}|all|policy-change)\b", re.MULTILINE | re.IGNORECASE
)
_DECLINE = re.compile(r"^\s*/decline\s+([0-9a-f]{12})\b[ \t]*(.*)$", re.MULTILINE | re.IGNORECASE)
_ORDER_ID = re.compile(r"\b[0-9a-f]{12}\b")
_FENCED = re.compile(r"^ {0,3}(```|~~~).*?(^ {0,3}\1[^\n]*$|\Z)", re.MULTILINE | re.DOTALL)
_INDENTED = re.compile(r"^(?: {4}|\t).*$", re.MULTILINE)


def edited(comment: dict[str, Any]) -> bool:
    """Whether an issue comment was edited after it was posted (GitHub's REST API gives
    every comment ``created_at`` and ``updated_at``)."""
    updated = comment.get("updated_at")
    return updated is not None and str(updated) != str(comment.get("created_at"))


def edited_note(login: str, comment: dict[str, Any]) -> str:
    """Why an edited comment's ``/approve`` is not counted, and what to do."""
    where = comment.get("html_url") or f"posted at {comment.get('created_at')}"
    return (
        f"{login}: the /approve comment {where} was edited after it "
        f"was posted (at {comment.get('updated_at')}); anyone with write access to the "
        f"repository can edit a comment, and it still shows {login} as its author, so it "
        f"approves nothing: {login}, post a new comment to approve"
    )


def said(body: str | None) -> str:
    """A comment's text without its code (fenced blocks, indented lines): a command shown
    as an example ("this is how you would approve") is not said."""
    return _INDENTED.sub("", _FENCED.sub("", body or ""))


@dataclass(frozen=True)
class PullRequest:
    author: str
    approvals: list[Approval]
    ignored: list[str]
    declines: list[Decline] = field(default_factory=list)
    """Declines and their withdrawals, each with its time and URL."""


def _pages(client: httpx.Client, url: str) -> Iterator[Any]:
    next_url: str | None = url
    while next_url:
        try:
            response = client.get(next_url)
        except httpx.HTTPError as exc:
            raise ApprovalError(f"GitHub API unreachable: {exc}") from exc
        if response.status_code != 200:
            detail = response.json().get("message", response.text) if response.content else ""
            raise ApprovalError(f"GitHub API {response.status_code} for {next_url}: {detail}")
        yield from response.json()
        next_url = response.links.get("next", {}).get("url")


def read_pull_request(
    plan: Plan,
    policy: ReviewPolicy,
    repo: str,
    number: int,
    token: str | None,
    api_url: str = "https://api.github.com",
) -> PullRequest:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    logins = {r.github.lower(): name for name, r in policy.reviewers.items() if r.github}
    by_id = gated_of(plan)  # the policy change too, when named: /approve policy-change
    gated = [g for oid, g in by_id.items() if oid != POLICY_CHANGE]
    base = f"{api_url.rstrip('/')}/repos/{repo}"
    with httpx.Client(headers=headers, timeout=30) as client:
        try:
            pr = client.get(f"{base}/pulls/{number}")
        except httpx.HTTPError as exc:
            raise ApprovalError(f"GitHub API unreachable: {exc}") from exc
        if pr.status_code != 200:
            raise ApprovalError(f"GitHub API {pr.status_code}: pull request {repo}#{number}")
        author = str(pr.json()["user"]["login"])
        reviews = list(_pages(client, f"{base}/pulls/{number}/reviews?per_page=100"))
        comments = list(_pages(client, f"{base}/issues/{number}/comments?per_page=100"))
    found: list[Approval] = []
    ignored: list[str] = []

    def add(login: str, order_ids: list[str], at: str, url: str) -> None:
        reviewer = logins.get(login.lower())
        if reviewer is None:
            ignored.append(f"{login}: not a reviewer in policies/review.yaml")
            return
        if login.lower() == author.lower() and not policy.allow_self_approval:
            ignored.append(f"{login}: the author of the pull request cannot approve it")
            return
        for oid in order_ids:
            order = by_id.get(oid)
            if order is None:
                ignored.append(f"{login}: /approve {oid} names no gated order of this plan")
                continue
            found.append(
                Approval(
                    plan.digest,
                    oid,
                    order.content_digest,
                    reviewer,
                    at,
                    via="github",
                    evidence=url,
                )
            )

    latest: dict[str, dict[str, Any]] = {}
    for review in reviews:
        login = str(review["user"]["login"])
        if review["state"] in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[login] = review
    for login, review in sorted(latest.items()):
        if review["state"] != "APPROVED":
            continue
        if plan.digest[:12] not in (review.get("body") or ""):
            ignored.append(f"{login}: the approving review does not name plan {plan.digest[:12]}")
            continue
        add(
            login,
            [o.id for o in gated],
            str(review["submitted_at"]),
            str(review.get("html_url", "")),
        )
    for comment in comments:
        login = str(comment["user"]["login"])
        wanted = [m.lower() for m in _APPROVE.findall(said(comment.get("body")))]
        if not wanted:
            continue
        if edited(comment):
            ignored.append(edited_note(login, comment))
            continue
        if plan.digest[:12] not in said(comment.get("body")).lower():
            ignored.append(
                f"{login}: the /approve comment does not name plan {plan.digest[:12]}, so it "
                f"may be about an earlier plan (approve this one with `/approve all "
                f"{plan.digest[:12]}` or `/approve ORDER-ID {plan.digest[:12]}`)"
            )
            continue
        ids = [o.id for o in gated] if "all" in wanted else wanted
        add(login, ids, str(comment["created_at"]), str(comment.get("html_url", "")))
    declines = _declines(plan, logins, reviews, comments, ignored)
    return PullRequest(author, found, ignored, declines)


def _declines(
    plan: Plan,
    logins: dict[str, str],
    reviews: list[dict[str, Any]],
    comments: list[dict[str, Any]],
    ignored: list[str],
) -> list[Decline]:
    """The declines and withdrawals a pull request's reviews and comments make, in the
    order GitHub lists them (reviews, then comments; each with its own time)."""
    orders = {o.id: o for o in plan.orders}
    gated = [o.id for o in plan.orders if o.gate]
    out: list[Decline] = []
    by_review: dict[str, set[str]] = {}  # login -> orders its "changes requested" declined
    by_comment: dict[str, set[str]] = {}  # login -> orders its /decline comments declined

    def state(reviewer: str, oid: str, reason: str, at: str, url: str, withdrawn: bool) -> None:
        cd = content_digest(orders[oid])
        out.append(
            Decline(plan.digest, oid, cd, reviewer, reason, at, withdrawn, None, "github", url)
        )

    for review in reviews:
        login = str(review["user"]["login"])
        kind = review["state"]
        who = login.lower()  # GitHub logins are case-insensitive
        if kind not in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            continue
        reviewer = logins.get(login.lower())
        at, url = str(review["submitted_at"]), str(review.get("html_url", ""))
        body = review.get("body") or ""
        named = sorted({m for m in _ORDER_ID.findall(body.lower()) if m in orders})
        if reviewer is None:
            if kind == "CHANGES_REQUESTED":
                ignored.append(f"{login}: not a reviewer in policies/review.yaml")
            continue
        if kind == "CHANGES_REQUESTED":
            reason = one_line(body) or "changes requested in the pull request review"
            for oid in named or gated:
                state(reviewer, oid, reason, at, url, withdrawn=False)
                by_review.setdefault(who, set()).add(oid)
        else:
            # approved since, or this very review dismissed: what the reviewer's
            # "changes requested" declined is withdrawn (a dismissed review keeps its time)
            dismissed = named or gated if kind == "DISMISSED" else []
            for oid in sorted(by_review.pop(who, set()) | set(dismissed)):
                state(reviewer, oid, "review approved or dismissed", at, url, withdrawn=True)
    for comment in comments:
        login = str(comment["user"]["login"])
        body = said(comment.get("body"))
        at, url = str(comment["created_at"]), str(comment.get("html_url", ""))
        declined = _DECLINE.findall(body)
        # an edited comment's /approve withdraws nothing (see the module's docstring)
        approved = [] if edited(comment) else [m.lower() for m in _APPROVE.findall(body)]
        if not declined and not approved:
            continue
        reviewer = logins.get(login.lower())
        if reviewer is None:
            if declined:
                ignored.append(f"{login}: not a reviewer in policies/review.yaml")
            continue
        for oid, reason in declined:
            oid = oid.lower()
            if oid not in orders:
                ignored.append(f"{login}: /decline {oid} names no order of this plan")
            elif not reason.strip():
                ignored.append(f"{login}: /decline {oid} gives no reason (/decline ID REASON)")
            else:
                state(reviewer, oid, one_line(reason), at, url, withdrawn=False)
                by_comment.setdefault(login.lower(), set()).add(oid)
        mine = by_comment.get(login.lower(), set())
        for oid in sorted(mine if "all" in approved else mine & set(approved)):
            state(reviewer, oid, "approved in a comment", at, url, withdrawn=True)
            mine.discard(oid)
    return out
