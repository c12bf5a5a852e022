"""Declines: a reviewer's signed "no" to one order, and which declines hold for a plan.

A decline is the reverse of an approval, and is kept beside approvals (in
``approvals/<plan-digest>.yaml`` under ``declines:``, or in the store when read from a
pull request). What it binds, and why:

- the plan digest, order id, order content digest, reviewer, reason and time are
  signed (``ssh-keygen -Y sign -n accesshive``, like an approval, with its own
  ``purpose``), so a decline cannot be forged, edited, or copied into another plan's
  file: each entry is verified against the plan digest of the file it is in;
- it holds for every plan whose order has the same id and content digest (the order's
  content identity), not only the plan it was signed for: a re-plan of unchanged content
  (after a sync, on another day) keeps it, and a change of that order's configuration
  (another entitlement, another attribute value: another content digest) ends it.
  Holding on through re-plans is what makes a "no" stick; an approval, by contrast,
  binds the plan digest, because a "yes" must never reach further than what the
  reviewer saw: it is carried to a re-plan only for the identical order, once an apply
  of its own plan counted it (``approvals/carry.py``);
- a reviewer withdraws their own decline with a later signed withdrawal
  (``accesshive decline --withdraw``), or by a later approving review or ``/approve``
  comment on GitHub; the latest statement of each reviewer on an order decides.

A decline that cannot be checked (unsigned, badly signed, by someone who is not a
reviewer, in a file for another plan) is not ignored: ignoring it would apply an order
a reviewer said no to. It is refused with an error naming its file, and apply stops.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from accesshive.approvals.model import content_digest
from accesshive.approvals.signing import verify
from accesshive.config.policy import ReviewPolicy
from accesshive.errors import ApprovalError
from accesshive.plan.model import Plan
from accesshive.plan.orders import canonical_json
from accesshive.sshsig import is_armored

MAX_REASON = 500
"""A reason is for people: one line, at most this many characters (a review's whole body
would flood the PR comment and the apply output)."""


@dataclass(frozen=True)
class Decline:
    """One statement of a reviewer about one order: a decline, or its withdrawal."""

    plan_digest: str
    """The plan it was signed for (or read from a pull request for)."""
    order: str
    content_digest: str
    reviewer: str
    reason: str
    signed_at: str
    withdrawn: bool = False
    signature: str | None = None
    via: str = "signature"
    """signature (in an approvals file) or github (recorded from a pull request)."""
    evidence: str | None = None
    """Where it comes from: the approvals file, or the review or comment URL."""

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out.pop("signature", None)
        return out

    def describe(self) -> str:
        return f"declined by {self.reviewer}: {self.reason}"


def one_line(reason: str) -> str:
    """``reason`` as one line of at most ``MAX_REASON`` characters."""
    flat = " ".join(reason.split())
    return flat if len(flat) <= MAX_REASON else flat[: MAX_REASON - 1] + "…"


def decline_message(
    plan_digest: str,
    order_id: str,
    content_digest: str,
    reviewer: str,
    reason: str,
    at: str,
    withdrawn: bool,
) -> bytes:
    """What a decline's signature covers. Its ``purpose`` differs from an approval's and
    a withdrawal's from a decline's, so no signature can be passed off as another."""
    purpose = "accesshive-decline-withdrawal-v1" if withdrawn else "accesshive-decline-v1"
    return canonical_json(
        {
            "purpose": purpose,
            "plan_digest": plan_digest,
            "order": order_id,
            "content_digest": content_digest,
            "reviewer": reviewer,
            "reason": reason,
            "signed_at": at,
        }
    ).encode("utf-8")


def _problem(policy: ReviewPolicy, d: Decline) -> str | None:
    """Why ``d`` cannot be trusted, or None when it can."""
    reviewer = policy.reviewers.get(d.reviewer)
    if reviewer is None:
        return f"'{d.reviewer}' is not a reviewer in policies/review.yaml"
    if reviewer.revoked:
        return f"the key of reviewer '{d.reviewer}' is revoked"
    if d.via == "github":
        return None if reviewer.github else f"no GitHub login is mapped to '{d.reviewer}'"
    if not d.signature:
        return "it is not signed"
    if not is_armored(d.signature):
        return "its signature is not an SSH signature (sign it with `accesshive decline`)"
    keys = reviewer.ssh_keys()
    if not keys:
        return f"policies/review.yaml lists no public key for '{d.reviewer}'"
    payload = decline_message(
        d.plan_digest, d.order, d.content_digest, d.reviewer, d.reason, d.signed_at, d.withdrawn
    )
    _, why = verify(keys, payload, d.signature)
    return why


def effective(
    plan: Plan, policy: ReviewPolicy, statements: Iterable[Decline]
) -> dict[str, list[Decline]]:
    """Per order of ``plan`` that is declined: the declines that hold (one per reviewer).

    A statement counts for an order of ``plan`` with the same id and content digest; the
    latest statement of each reviewer on it decides (a withdrawal at the same time as a
    decline wins). Raises ``ApprovalError`` naming the file (or URL) of a statement about
    an order of this plan that cannot be trusted."""
    orders = {o.id: content_digest(o) for o in plan.orders}
    latest: dict[tuple[str, str], Decline] = {}
    for d in statements:
        if orders.get(d.order) != d.content_digest:
            continue  # another order, or this order as it was before it changed
        why = _problem(policy, d)
        if why is not None:
            what = "withdrawal of the decline" if d.withdrawn else "decline"
            raise ApprovalError(
                f"{d.evidence or 'a decline'}: the {what} of order {d.order} by "
                f"'{d.reviewer}' is refused: {why}. Sign it with `accesshive decline` "
                "(or remove it in a reviewed commit)"
            )
        key = (d.order, d.reviewer)
        held = latest.get(key)
        if held is None or (d.signed_at, d.withdrawn) >= (held.signed_at, held.withdrawn):
            latest[key] = d
    out: dict[str, list[Decline]] = {}
    for (oid, _), d in sorted(latest.items()):
        if not d.withdrawn:
            out.setdefault(oid, []).append(d)
    return out


def describe(declines: Iterable[Decline]) -> str:
    """``declined by alice: reason; declined by bob: reason``."""
    return "; ".join(d.describe() for d in declines)
