"""Approvals: who approved which gated order of which plan, and whether it counts.

Two kinds of evidence:
- a signed approval (an SSH signature, ``ssh-keygen -Y sign -n accesshive``, over plan
  digest, order id, order content digest, reviewer and time), kept in
  ``approvals/<plan-digest>.yaml`` and committed to the pull request;
- an approval read from the GitHub pull request (an approving review or an
  ``/approve ORDER-ID`` comment by a reviewer's mapped login), recorded in the store.

``evaluate`` decides, per gated order, whether a quorum of allowed reviewers
approved exactly this plan and this order, and says why every other approval
counts for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from accesshive.approvals.signing import message, verify
from accesshive.config.policy import ReviewPolicy
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order, digest
from accesshive.sshsig import is_armored


@dataclass(frozen=True)
class Approval:
    plan_digest: str
    order: str
    content_digest: str
    reviewer: str
    signed_at: str
    signature: str | None = None
    via: str = "signature"
    """signature (in the approvals file) or github (recorded from the pull request)."""
    evidence: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class OrderApproval:
    order: str
    quorum: int
    groups: tuple[str, ...]
    approvers: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def approved(self) -> bool:
        return len(self.approvers) >= self.quorum

    @property
    def missing(self) -> int:
        return max(self.quorum - len(self.approvers), 0)

    def describe(self) -> str:
        if self.approved:
            return f"approved by {', '.join(self.approvers)}"
        text = f"needs {self.missing} more approval(s) from {', '.join(self.groups)}"
        if self.approvers:
            text += f" (approved by {', '.join(self.approvers)})"
        if self.rejected:
            text += "; not counted: " + "; ".join(f"{r} ({why})" for r, why in self.rejected)
        return text


OLD_FORMAT = (
    "signed in the bare Ed25519 format of accesshive before SSH signatures, no longer "
    "accepted: re-approve with `accesshive approve` (ssh-keygen)"
)
"""Approvals signed before SSHSIG (a base64 Ed25519 signature, no namespace) are refused,
never read: approvals are per plan and short-lived, re-approving is one command, and one
signature format is one verification path to trust."""


def content_digest(order: Order) -> str:
    return digest(order.body())


def evaluate(
    plan: Plan, policy: ReviewPolicy, approvals: Iterable[Approval]
) -> dict[str, OrderApproval]:
    gated = {o.id: o for o in plan.orders if o.gate}
    result = {
        oid: OrderApproval(oid, o.gate.quorum, o.gate.reviewer_groups)  # type: ignore[union-attr]
        for oid, o in gated.items()
    }
    for approval in approvals:
        order = gated.get(approval.order)
        if order is None:
            continue
        verdict = result[order.id]
        why = _reject(plan, policy, order, approval)
        if why:
            verdict.rejected.append((approval.reviewer, why))
        elif approval.reviewer not in verdict.approvers:
            verdict.approvers.append(approval.reviewer)
    return result


def _reject(plan: Plan, policy: ReviewPolicy, order: Order, approval: Approval) -> str | None:
    """Why this approval does not count, or None when it does."""
    if approval.plan_digest != plan.digest:
        return f"it approves another plan ({approval.plan_digest[:12]})"
    if approval.content_digest != content_digest(order):
        return "the order changed since it was approved"
    reviewer = policy.reviewers.get(approval.reviewer)
    if reviewer is None:
        return "not a reviewer in policies/review.yaml"
    if reviewer.revoked:
        return "the reviewer's key is revoked"
    assert order.gate is not None
    if not set(reviewer.groups) & set(order.gate.reviewer_groups):
        return f"not in {', '.join(order.gate.reviewer_groups)}"
    author = plan.author
    if author and not policy.allow_self_approval and author in (approval.reviewer, reviewer.github):
        return "the author of the change cannot approve it"
    if approval.via == "github":
        return None if reviewer.github else "no GitHub login is mapped to this reviewer"
    keys = reviewer.ssh_keys()
    if not keys:
        return "the reviewer has no public key"
    if not approval.signature:
        return "the approval has no signature"
    if not is_armored(approval.signature):
        return OLD_FORMAT
    payload = message(
        approval.plan_digest,
        approval.order,
        approval.content_digest,
        approval.reviewer,
        approval.signed_at,
    )
    _, why = verify(keys, payload, approval.signature)
    return why
