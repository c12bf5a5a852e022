"""What the approval commands do: sign approvals and declines, verify, record from GitHub,
and what apply counts."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from accesshive.approvals.beneficiary import own_identities, why_own
from accesshive.approvals.carry import carried
from accesshive.approvals.declines import Decline, decline_message, effective, one_line
from accesshive.approvals.files import (
    approvals_files,
    approvals_path,
    read_approvals,
    read_declines,
    write_approvals,
    write_declines,
)
from accesshive.approvals.model import (
    Approval,
    Authorship,
    Gated,
    OrderApproval,
    content_digest,
    evaluate,
    gated_of,
    own_access,
    revocations,
)
from accesshive.approvals.signing import message, public_key_of, sign, verify
from accesshive.config import Config
from accesshive.config.policy import ReviewPolicy
from accesshive.diagnostics import Location
from accesshive.errors import ApprovalError
from accesshive.plan.model import POLICY_CHANGE, Plan
from accesshive.policies_in_force import PoliciesInForce, differing
from accesshive.policy_change import policy_change
from accesshive.sshsig import PublicKey
from accesshive.store import Store

if TYPE_CHECKING:  # httpx is imported only when a pull request is read
    from accesshive.approvals.github import PullRequest


def _now() -> str:
    # to the microsecond, as declines: which of a reviewer's statements came last decides
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def review_policy_file(config: Config) -> str:
    """The repository's review policy as a path that opens from the current directory, as
    diagnostics show files (``Location.shown_file``): the file the policy was read from,
    or, while the shipped default is in force, the one to write in the repository's first
    policy directory. Why: ``approve`` runs with ``-C`` from anywhere, and its errors tell
    the reviewer to edit this file."""
    origin = config.policy_origins.get("review", "")
    if not origin or origin.startswith("<defaults>"):
        paths = config.project.policies.paths
        origin = f"{paths[0].strip('/') if paths else 'policies'}/review.yaml"
    return Location(origin, root=os.path.abspath(config.root)).shown_file()


def _reviewer_keys(config: Config, key_path: Path, reviewer: str) -> list[PublicKey]:
    """The keys the review policy lists for ``reviewer``, having checked that
    ``key_path`` (when its public half is known) is one of them."""
    policy = config.policies.review
    known = policy.reviewers.get(reviewer)
    if known is None:
        raise ApprovalError(f"'{reviewer}' is not a reviewer in {review_policy_file(config)}")
    keys = known.ssh_keys()
    if not keys:
        raise ApprovalError(
            f"{review_policy_file(config)} lists no public key for '{reviewer}' (public_keys)"
        )
    declared = public_key_of(key_path)
    if declared is not None and declared.blob not in {k.blob for k in keys}:
        raise ApprovalError(
            f"{key_path} ({declared.fingerprint()}) is not a key "
            f"{review_policy_file(config)} lists for '{reviewer}'"
        )
    return keys


def reviewer_of_key(config: Config, key_path: Path) -> str:
    """The reviewer the review policy lists ``key_path``'s public key for: what
    ``--as`` defaults to, so that the command the PR comment prints runs as printed."""
    if not config.policies.review.reviewers:
        raise ApprovalError(
            "the review policy declares no reviewers: list them, with their public keys, "
            f"under review.reviewers in {review_policy_file(config)}"
        )
    declared = public_key_of(key_path)
    if declared is None:
        raise ApprovalError(
            f"cannot tell whose key {key_path} is (no {key_path}.pub beside it): give "
            "--as NAME, or --key with the .pub file"
        )
    owners = [
        name
        for name, r in sorted(config.policies.review.reviewers.items())
        if declared.blob in {k.blob for k in r.ssh_keys()}
    ]
    if not owners:
        raise ApprovalError(
            f"{key_path} ({declared.fingerprint()}) is not the key of any reviewer in "
            f"{review_policy_file(config)}: add it to your public_keys there, or sign with "
            "the key it lists for you"
        )
    return owners[0]  # a key belongs to one reviewer (checked when the policy loads)


def sign_approvals(
    config: Config,
    plan: Plan,
    key_path: Path,
    reviewer: str,
    order_ids: list[str],
    all_gated: bool,
    declined: frozenset[str] = frozenset(),
) -> tuple[Path, list[Approval]]:
    """Sign approvals of gated orders and add them to the plan's approvals file.
    ``declined``: orders the reviewer still declines; an approval signed before the
    decline is withdrawn would never count, so none is made (``--all-gated`` passes them
    over)."""
    keys = _reviewer_keys(config, key_path, reviewer)
    gated = gated_of(plan)
    policy = config.policies.review
    groups = set(policy.reviewers[reviewer].groups)
    if not policy.allow_self_approval and Authorship.claimed(plan).includes(
        reviewer, policy.reviewers[reviewer].github
    ):
        raise ApprovalError(
            f"{reviewer} is the author of this change (the plan names {plan.author} as its "
            "author), and the author cannot approve it; nothing signed (ask another reviewer)"
        )
    mine = own_orders(config, plan, reviewer)
    if all_gated:
        # never the policy change: approving a colleague's grants must not also approve
        # the reviewer or rule their change adds (it is named: --order policy-change)
        countable = sorted(
            oid for oid, o in gated.items() if _counts(o, groups) and oid != POLICY_CHANGE
        )
        if not countable and gated:
            raise ApprovalError(
                f"{reviewer} is in none of the groups that approve the gated orders of plan "
                f"{plan.digest[:12]} ({_wanted(gated.values())}); nothing signed"
            )
        others = [oid for oid in countable if oid not in mine]
        if countable and not others:
            raise ApprovalError(
                f"every gated order {reviewer} may approve is on their own identity ("
                + "; ".join(f"{oid}: {mine[oid]}" for oid in countable)
                + f"), and a reviewer cannot approve their own access; nothing signed "
                f"({who_else(config, plan, gated[countable[0]], reviewer)})"
            )
        order_ids = [oid for oid in others if oid not in declined]
        if others and not order_ids:
            raise ApprovalError(
                f"{reviewer} still declines every gated order they may approve "
                f"({', '.join(others)}): withdraw the decline first "
                "(`accesshive decline PLAN --order ID --withdraw`); nothing signed"
            )
    if not order_ids:
        raise ApprovalError("name the orders to approve (--order ID) or use --all-gated")
    at = _now()
    unsigned = []
    for oid in order_ids:
        order = gated.get(oid)
        if order is None:
            what = "not a gated order" if oid in {o.id for o in plan.orders} else "no order"
            if oid == POLICY_CHANGE:
                what = "not in this plan: it changes nothing the policies in force must approve"
            raise ApprovalError(f"order {oid} is {what} of plan {plan.digest[:12]}")
        if oid in declined:
            raise ApprovalError(
                f"{reviewer} still declines order {oid}: withdraw the decline first "
                "(`accesshive decline PLAN --order ID --withdraw`), then approve; nothing signed"
            )
        if oid in mine:
            raise ApprovalError(
                f"{reviewer} cannot approve order {oid}: {own_access(mine[oid])}; nothing "
                f"signed ({who_else(config, plan, order, reviewer)})"
            )
        if not _counts(order, groups):
            raise ApprovalError(
                f"{reviewer} cannot approve order {oid}: it needs {_wanted([order])}, and "
                f"{reviewer} is in {', '.join(sorted(groups)) or 'no reviewer group'}; "
                "nothing signed (ask a member of those groups)"
            )
        unsigned.append(Approval(plan.digest, oid, order.content_digest, reviewer, at))
    payloads = [message(plan.digest, a.order, a.content_digest, reviewer, at) for a in unsigned]
    approvals = []
    for approval, payload, signature in zip(
        unsigned, payloads, sign(key_path, payloads), strict=True
    ):
        _, why = verify(keys, payload, signature)
        if why:
            raise ApprovalError(f"ssh-keygen signed with {key_path}, but {why}")
        approvals.append(replace(approval, signature=signature))
    path = approvals_path(config.root, plan.digest)
    write_approvals(path, plan.digest, approvals)
    return path, approvals


def own_orders(config: Config, plan: Plan, reviewer: str) -> dict[str, str]:
    """The gated orders of ``plan`` on ``reviewer``'s own identity, or one they own
    (``approvals/beneficiary.py``), each with why: an approval of them never counts, so
    ``approve`` signs none."""
    own = own_identities([config.policies.review], config.identities)
    found = {o.id: why_own(own, reviewer, o.change.identity) for o in plan.orders if o.gate}
    return {oid: why for oid, why in found.items() if why}


def who_else(config: Config, plan: Plan, order: Gated, reviewer: str) -> str:
    """Who, besides ``reviewer``, may approve ``order`` (in one of its groups, not
    revoked, not the plan's author, not on their own identity): whom to ask."""
    policy = config.policies.review
    own = own_identities([policy], config.identities)
    author = Authorship.claimed(plan)
    names = [
        name
        for name, r in sorted(policy.reviewers.items())
        if name != reviewer
        and not r.revoked
        and _counts(order, set(r.groups))
        and not why_own(own, name, order.identity)
        and (policy.allow_self_approval or not author.includes(name, r.github))
    ]
    if names:
        return f"ask {' or '.join(names)}"
    groups = sorted({g for n in order.gate.needs() for g in n.groups})
    return (
        f"no other reviewer may approve it: add one to {', '.join(groups)} "
        f"in {review_policy_file(config)}"
    )


def _counts(order: Gated, groups: set[str]) -> bool:
    """Whether an approval by a member of ``groups`` counts toward ``order``'s gate: it
    does when they belong to a group of one of its needs. Anything else is a signature
    that apply would pass over, so it is never made."""
    return any(groups & set(n.groups) for n in order.gate.needs())


def _wanted(orders: Iterable[Gated]) -> str:
    return "; ".join(sorted({o.gate.wanted() for o in orders}))


def sign_declines(
    config: Config,
    plan: Plan,
    key_path: Path,
    reviewer: str,
    order_ids: list[str],
    reason: str,
    withdraw: bool,
    standing: Mapping[str, list[Decline]] | None = None,
) -> tuple[Path, list[Decline]]:
    """Sign declines of orders of ``plan`` (or, with ``withdraw``, their withdrawal) and
    add them to the plan's approvals file. Any order may be declined, gated or not: a
    decline only ever stops an order. Withdrawing needs no reason, but a decline of
    ``reviewer``'s among ``standing`` (the declines that hold, ``check_declines``) for
    each order: a withdrawal of nothing is refused, nothing written."""
    keys = _reviewer_keys(config, key_path, reviewer)
    if not order_ids:
        raise ApprovalError("name the orders to decline (--order ID)")
    if withdraw:
        for oid in order_ids:
            if reviewer not in {d.reviewer for d in (standing or {}).get(oid, [])}:
                raise ApprovalError(f"{reviewer} has no decline of {oid} to withdraw")
    reason = one_line(reason)
    if not reason and not withdraw:
        raise ApprovalError("say why the order is declined (--reason TEXT)")
    # to the microsecond: the latest statement decides, so a decline, its withdrawal and a
    # new decline made within one second must still follow each other
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    unsigned = []
    for oid in order_ids:
        try:
            order = plan.order(oid)
        except KeyError:
            raise ApprovalError(f"order {oid} is not an order of plan {plan.digest[:12]}") from None
        unsigned.append(
            Decline(plan.digest, oid, content_digest(order), reviewer, reason, at, withdraw)
        )
    payloads = [
        decline_message(d.plan_digest, d.order, d.content_digest, reviewer, reason, at, withdraw)
        for d in unsigned
    ]
    declines = []
    for decline, payload, signature in zip(
        unsigned, payloads, sign(key_path, payloads), strict=True
    ):
        _, why = verify(keys, payload, signature)
        if why:
            raise ApprovalError(f"ssh-keygen signed with {key_path}, but {why}")
        declines.append(replace(decline, signature=signature))
    path = approvals_path(config.root, plan.digest)
    write_declines(path, plan.digest, declines)
    return path, declines


def collect_declines(config: Config, plan: Plan, store: Store | None) -> list[Decline]:
    """Every decline and withdrawal that may concern ``plan``: those of every approvals
    file in the repository (this plan's and earlier plans', since a decline holds for the
    same order content), and those recorded from GitHub in the store."""
    ids = {o.id for o in plan.orders}
    found = [
        d for path in approvals_files(config.root) for d in read_declines(path) if d.order in ids
    ]
    if store is not None:
        found += store.declines(ids)
    return found


def check_declines(config: Config, plan: Plan, store: Store | None) -> dict[str, list[Decline]]:
    """Per declined order of ``plan``: the declines that hold. Raises ``ApprovalError``
    naming the file of a decline that cannot be trusted."""
    return effective(plan, config.policies.review, collect_declines(config, plan, store))


def collect(config: Config, plan: Plan, store: Store | None) -> list[Approval]:
    """Every approval evidence for a plan: its approvals file and what GitHub recorded."""
    found = read_approvals(approvals_path(config.root, plan.digest))
    if store is not None:
        for order, cd, reviewer, evidence, at in store.approvals(plan.digest):
            found.append(
                Approval(plan.digest, order, cd, reviewer, at, via="github", evidence=evidence)
            )
    return found


def authorship(plan: Plan, store: Store | None) -> Authorship:
    """Who proposed ``plan``, as the store's audit log attests it: ``plan_made`` (written
    by ``accesshive plan``; the digest covers the author it named) and
    ``pull_request_read`` (the author GitHub gave ``approvals from-github``). The author
    the file claims is always kept out of its approvals too."""
    claimed = Authorship.claimed(plan)
    if store is None:
        return claimed
    authors, attested = set(claimed.authors), False
    for event, details in store.audit_details(plan.digest, ("plan_made", "pull_request_read")):
        attested = True
        if event == "pull_request_read":
            authors.add(str(json.loads(details)["author"]))
    return Authorship(frozenset(authors), attested)


def check(config: Config, plan: Plan, store: Store | None) -> dict[str, OrderApproval]:
    """Per gated order: its approvals, this plan's and those carried from an earlier plan
    of the identical order (``approvals/carry.py``), evaluated under the current policies
    and, when the repository changes them, under those in force too (the last complete
    apply's, from the store: ``policies_in_force``)."""
    earlier, signed_for = carried(config.root, plan, store, lambda p: authorship(p, store))
    in_force = differing(config, store.policies_in_force()) if store is not None else None
    policies = [config.policies.review] + ([in_force.review] if in_force is not None else [])
    change = policy_change(config, in_force) if plan.scope is None else None
    revoked = revocations(_every_environment_s(store)) if store is not None else {}
    return evaluate(
        plan,
        config.policies.review,
        collect(config, plan, store) + earlier,
        authorship(plan, store),
        signed_for,
        collect_declines(config, plan, store),
        in_force=in_force.review if in_force is not None else None,
        own=own_identities(policies, config.identities),
        policy_change=change,
        revoked=revoked,
    )


def _every_environment_s(store: Store) -> list[tuple[str, ReviewPolicy]]:
    """The review policy in force of each environment of the store (and of the
    repository's other SQLite stores) that has one."""
    return [
        (where, PoliciesInForce.from_text(text).review)
        for where, text in store.policies_in_force_everywhere()
    ]


def not_counting(
    verdicts: Mapping[str, OrderApproval], approvals: Iterable[Approval]
) -> list[tuple[Approval, str]]:
    """Of ``approvals`` (just signed, or recorded from GitHub), those that do not count
    toward their order's gate, each with why, as ``approvals verify`` says it (from
    ``check``'s ``verdicts``): what ``approve`` and ``approvals from-github`` say first."""
    out = []
    for a in approvals:
        verdict = verdicts.get(a.order)
        if verdict is None or a.reviewer in verdict.approvers:
            continue
        why = next((w for r, w in verdict.rejected if r == a.reviewer), "it does not count")
        out.append((a, why))
    return out


def _same_author(config: Config, claimed: str, login: str) -> bool:
    """The plan's author (a GitHub login, or a reviewer's name) is the pull request's."""
    if claimed.lower() == login.lower():
        return True
    reviewer = config.policies.review.reviewers.get(claimed)
    return bool(reviewer and reviewer.github and reviewer.github.lower() == login.lower())


def record_from_github(
    config: Config,
    plan: Plan,
    store: Store,
    repo: str,
    number: int,
    token: str | None,
    api_url: str,
    actor: str,
) -> tuple[PullRequest, list[Approval]]:
    """Record the pull request's approvals (returns those that are new) and its declines
    and their withdrawals (each audited once, when first recorded)."""
    from accesshive.approvals.github import read_pull_request

    pr = read_pull_request(plan, config.policies.review, repo, number, token, api_url)
    if plan.author and not _same_author(config, plan.author, pr.author):
        raise ApprovalError(
            f"the plan names {plan.author} as its author, but pull request {repo}#{number} "
            f"is by {pr.author}: nothing recorded. Make the plan with `--author {pr.author}`."
        )
    attested = [json.loads(d) for _, d in store.audit_details(plan.digest, ("pull_request_read",))]
    where = f"{repo}#{number}"
    if not any(d.get("pull_request") == where and d.get("author") == pr.author for d in attested):
        store.audit(
            actor, "pull_request_read", plan.digest, {"pull_request": where, "author": pr.author}
        )
    recorded: list[Approval] = []
    for a in pr.approvals:
        if store.record_approval(
            a.plan_digest, a.order, a.content_digest, a.reviewer, a.evidence or "", a.signed_at
        ):
            recorded.append(a)
            store.audit(
                actor,
                "approval_recorded",
                a.order,
                {"plan": plan.digest, "reviewer": a.reviewer, "evidence": a.evidence},
            )
    for d in pr.declines:
        if store.record_decline(
            d.plan_digest,
            d.order,
            d.content_digest,
            d.reviewer,
            d.reason,
            d.withdrawn,
            d.evidence or "",
            d.signed_at,
        ):
            store.audit(
                actor,
                "decline_withdrawn" if d.withdrawn else "decline_recorded",
                d.order,
                {
                    "plan": plan.digest,
                    "reviewer": d.reviewer,
                    "reason": d.reason,
                    "evidence": d.evidence,
                },
            )
    return pr, recorded
