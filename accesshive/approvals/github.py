"""Approvals from a GitHub pull request, read through the GitHub REST API (httpx).

What counts, from reviewers whose ``github`` login the review policy maps:
- a comment line ``/approve ORDER-ID`` approves that order (several lines, several orders);
- ``/approve all`` in a comment, or an approving review whose text names the
  plan digest (its first 12 characters, as the plan comment asks), approves
  every gated order of the plan.
A reviewer's approving review is withdrawn by a later "changes requested" or a
dismissal. Pages are followed through the ``Link`` header, as GitHub documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from accesshive.approvals.model import Approval, content_digest
from accesshive.config.policy import ReviewPolicy
from accesshive.errors import ApprovalError
from accesshive.plan.model import Plan

_APPROVE = re.compile(r"^\s*/approve\s+([0-9a-f]{12}|all)\b", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class PullRequest:
    author: str
    approvals: list[Approval]
    ignored: list[str]


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
    gated = [o for o in plan.orders if o.gate]
    by_id = {o.id: o for o in gated}
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
                    content_digest(order),
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
        add(login, [o.id for o in gated], str(review["submitted_at"]), str(review["html_url"]))
    for comment in comments:
        login = str(comment["user"]["login"])
        wanted = [m.lower() for m in _APPROVE.findall(comment.get("body") or "")]
        if not wanted:
            continue
        ids = [o.id for o in gated] if "all" in wanted else wanted
        add(login, ids, str(comment["created_at"]), str(comment["html_url"]))
    return PullRequest(author, found, ignored)
