"""Approvals: who approved which gated order of which plan, and whether it counts.

Two kinds of evidence:
- a signed approval (an SSH signature, ``ssh-keygen -Y sign -n accesshive``, over plan
  digest, order id, order content digest, reviewer and time), kept in
  ``approvals/<plan-digest>.yaml`` and committed to the pull request;
- an approval read from the GitHub pull request (an approving review or an
  ``/approve ORDER-ID`` comment by a reviewer's mapped login), recorded in the store.

``evaluate`` decides, per gated order, whether a quorum of allowed reviewers
approved exactly this plan and this order, and says why every other approval
counts for nothing. An approval of an earlier plan counts only when carried
(``approvals/carry.py``): the identical order, an approval that an apply of its own
plan used, verified again under the current policies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from accesshive.approvals.beneficiary import Own, why_own
from accesshive.approvals.signing import message, verify
from accesshive.config.policy import ReviewPolicy
from accesshive.plan.model import POLICY_CHANGE, Plan, PolicyChange
from accesshive.plan.orders import Gate, Need, Order, digest
from accesshive.sshsig import SshSigError, is_armored
from accesshive.sshsig import parse as parse_sshsig

if TYPE_CHECKING:  # declines.py builds on this module
    from accesshive.approvals.declines import Decline


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


@dataclass(frozen=True)
class Authorship:
    """Who proposed the plan, and whether a record accesshive trusts says so.

    The plan file's ``author`` is whatever its maker wrote: someone who wants to approve
    their own change makes the plan without ``--author``, or edits it (the digest is
    recomputed). What the store's tamper-evident audit log attests is trusted instead:
    ``accesshive plan`` against this store wrote the plan (the digest covers the author
    it named), or ``approvals from-github`` read the pull request's author from GitHub.
    """

    authors: frozenset[str] = frozenset()
    attested: bool = False

    @classmethod
    def claimed(cls, plan: Plan) -> Authorship:
        """Only what the plan file says (no store to attest it)."""
        return cls(frozenset({plan.author}) if plan.author else frozenset())

    def includes(self, *names: str | None) -> bool:
        mine = {a.lower() for a in self.authors}
        return any(n and n.lower() in mine for n in names)


@dataclass(frozen=True)
class EarlierPlan:
    """An earlier plan whose approvals may carry to this one (``approvals/carry.py``)."""

    authorship: Authorship
    """Who proposed it, as the store attests it."""
    same: Mapping[str, str]
    """Order id -> content digest of its orders that are identical to this plan's (what
    an approval of it must have signed to carry)."""


UNATTESTED = (
    "the plan's author is not on record (policies/review.yaml requires it): make the plan "
    "with `accesshive plan --author LOGIN` against this environment's store, or record the "
    "pull request with `accesshive approvals from-github`"
)


@dataclass
class OrderApproval:
    order: str
    quorum: int
    groups: tuple[str, ...]
    approvers: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    carried: list[tuple[str, str]] = field(default_factory=list)
    """(reviewer, plan digest) of the approvers whose approval was signed for an earlier
    plan with this identical order, and carried (``approvals/carry.py``)."""
    needs: tuple[Need, ...] = ()
    """Each gating rule's need when several rules gate the order (``Gate.requires``):
    every one must be met by approvers of its own groups."""
    member_of: dict[str, frozenset[str]] = field(default_factory=dict)
    """Approver → the reviewer groups the policy puts them in (for ``needs``)."""

    def short(self) -> list[tuple[Need, int]]:
        """The needs not met yet, each with how many approvals it still lacks."""
        if not self.needs:
            short = self.quorum - len(self.approvers)
            return [(Need(self.groups, self.quorum), short)] if short > 0 else []
        out = []
        for need in self.needs:
            wanted = set(need.groups)
            have = sum(1 for a in self.approvers if self.member_of.get(a, frozenset()) & wanted)
            if have < need.quorum:
                out.append((need, need.quorum - have))
        return out

    @property
    def approved(self) -> bool:
        return not self.short()

    @property
    def missing(self) -> int:
        return sum(n for _, n in self.short())

    def describe(self) -> str:
        if self.approved:
            return f"approved by {self._approvers()}"
        text = "needs " + " and ".join(
            f"{n} more approval(s) from {', '.join(need.groups)}" for need, n in self.short()
        )
        if self.approvers:
            text += f" (approved by {self._approvers()})"
        if self.rejected:
            text += "; not counted: " + "; ".join(f"{r} ({why})" for r, why in self.rejected)
        return text

    def _approvers(self) -> str:
        carried = dict(self.carried)
        return ", ".join(
            f"{r} (carried from plan {carried[r][:12]})" if r in carried else r
            for r in self.approvers
        )


def gated_of(plan: Plan) -> dict[str, Gated]:
    """What a reviewer of ``plan`` may approve: its gated orders, and its policy change
    as the plan file says it (what the reviewer reads; an approval counts only when it is
    what apply computes from the policies in force: ``policy_change``)."""
    gated = {o.id: Gated.of(o) for o in plan.orders if o.gate}
    change = plan.policy_change
    if change is not None:
        gated[POLICY_CHANGE] = Gated.of_change(change)
    return gated


OLD_FORMAT = (
    "signed in the bare Ed25519 format of accesshive before SSH signatures, no longer "
    "accepted: sign the approval again with the approve command (it signs with ssh-keygen)"
)
"""Approvals signed before SSHSIG (a base64 Ed25519 signature, no namespace) are refused,
never read: approvals are per plan and short-lived, re-approving is one command, and one
signature format is one verification path to trust."""


def own_access(why: str) -> str:
    """Why an approval of an order on the reviewer's own identity does not count."""
    return f"{why}: a reviewer cannot approve their own access"


def content_digest(order: Order) -> str:
    return digest(order.body())


@dataclass(frozen=True)
class Gated:
    """What an approval is judged against: a gated order, or the plan's policy change."""

    id: str
    content_digest: str
    gate: Gate
    identity: str | None
    """Whose access it is (a reviewer's approval of their own never counts)."""

    @classmethod
    def of(cls, order: Order) -> Gated:
        assert order.gate is not None
        return cls(order.id, content_digest(order), order.gate, order.change.identity)

    @classmethod
    def of_change(cls, change: PolicyChange) -> Gated:
        """A plan's policy change, approved as the order ``policy-change``: no one's access."""
        return cls(POLICY_CHANGE, change.content_digest, change.gate, None)


def evaluate(
    plan: Plan,
    policy: ReviewPolicy,
    approvals: Iterable[Approval],
    authorship: Authorship | None = None,
    carried: Mapping[str, EarlierPlan] | None = None,
    statements: Iterable[Decline] = (),
    in_force: ReviewPolicy | None = None,
    own: Own | None = None,
    policy_change: PolicyChange | None = None,
    revoked: Mapping[str, str] | None = None,
) -> dict[str, OrderApproval]:
    """``authorship``: who proposed the plan, as the store attests it (default: only what
    the plan file claims). ``carried``: the earlier plans whose approvals may be carried
    to this one (``approvals/carry.py``), with who proposed each; an approval of another
    plan counts only when its plan is there, its order identical (content digest), and
    it holds under the current policies for its own plan's author and this plan's.
    ``statements``: the reviewers' declines and withdrawals; an approval a reviewer
    declined afterwards no longer counts, even once the decline is withdrawn.
    ``in_force``: the review policy in force (the last complete apply's), when the
    repository's differs (``policies_in_force``): an approval counts only when it counts
    under both (a reviewer, in the required group, by a listed key, revoked in neither),
    and a reviewer counts toward a need only for the groups both put them in, so a
    change to the policy never loosens the review of itself.
    ``own``: per reviewer, the identities that are theirs (``approvals/beneficiary.py``):
    their approval of an order on one of them never counts.
    ``policy_change``: what the change adds to or loosens in the policies in force, as
    the caller computed it from them (``accesshive/policy_change.py``; never the plan
    file's): its verdict is keyed ``policy-change``; its gate is the policies in force's,
    and an approval of it counts, as of an order, only when both policies accept it.
    ``revoked``: the keys (``key:`` + fingerprint) and GitHub logins (``github:`` +
    login) revoked in the policies in force of any environment of the store, each with
    the environment (``revocations``): revoked in one, a key counts in none, so that a
    change cannot route a target through an environment whose policies in force are
    older than the revocation."""
    carried = carried or {}
    own = own or {}
    authorship = authorship or Authorship.claimed(plan)
    said = _last_said(statements)
    gated = {o.id: Gated.of(o) for o in plan.orders if o.gate}
    if policy_change is not None and in_force is not None:
        gated[POLICY_CHANGE] = Gated.of_change(policy_change)
    result = {
        oid: OrderApproval(oid, g.gate.quorum, g.gate.reviewer_groups, needs=g.gate.requires)
        for oid, g in gated.items()
    }
    for approval in approvals:
        order = gated.get(approval.order)
        if order is None:
            continue
        verdict = result[order.id]
        why = (
            _reject(plan, policy, order, approval, authorship, carried, own)
            or _in_force(plan, policy, in_force, order, approval, authorship, carried, own)
            or _superseded(approval, said)
            or _revoked_elsewhere(approval, policy, revoked or {})
        )
        if why:
            verdict.rejected.append((approval.reviewer, why))
        elif approval.reviewer not in verdict.approvers:
            verdict.approvers.append(approval.reviewer)
            groups = frozenset(policy.reviewers[approval.reviewer].groups)
            if in_force is not None:
                groups &= frozenset(in_force.reviewers[approval.reviewer].groups)
            verdict.member_of[approval.reviewer] = groups
            if approval.plan_digest != plan.digest:
                verdict.carried.append((approval.reviewer, approval.plan_digest))
    return result


def revocations(policies: Iterable[tuple[str, ReviewPolicy]]) -> dict[str, str]:
    """The revoked keys (``key:`` + fingerprint) and GitHub logins (``github:`` + login)
    of ``policies`` (environment, review policy), each with the environment it is
    revoked in (the first, sorted)."""
    out: dict[str, str] = {}
    for environment, review in sorted(policies, key=lambda p: p[0]):
        for reviewer in review.reviewers.values():
            if not reviewer.revoked:
                continue
            for key in reviewer.ssh_keys():
                out.setdefault("key:" + key.fingerprint(), environment)
            if reviewer.github:
                out.setdefault("github:" + reviewer.github.lower(), environment)
    return out


def _revoked_elsewhere(
    approval: Approval, policy: ReviewPolicy, revoked: Mapping[str, str]
) -> str | None:
    """Why the approval does not count: its key (or GitHub login) is revoked in the
    policies in force of an environment; None when it is not."""
    if not revoked:
        return None
    reviewer = policy.reviewers.get(approval.reviewer)
    if approval.via == "github":
        login = (reviewer.github or "").lower() if reviewer else ""
        where = revoked.get("github:" + login) if login else None
    elif approval.signature and is_armored(approval.signature):
        try:
            where = revoked.get("key:" + parse_sshsig(approval.signature).public_key.fingerprint())
        except SshSigError:
            return None  # said by the signature check
    else:
        return None
    if where is None:
        return None
    return (
        f"its key is revoked in the review policies in force of {where}: a key revoked "
        "in one environment counts in none"
    )


def _when(at: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _last_said(statements: Iterable[Decline]) -> dict[tuple[str, str, str], dt.datetime]:
    """(order, content digest, reviewer) → when the reviewer last declined the order or
    withdrew a decline of it."""
    said: dict[tuple[str, str, str], dt.datetime] = {}
    for d in statements:
        when = _when(d.signed_at)
        key = (d.order, d.content_digest, d.reviewer)
        if when is not None and (key not in said or when > said[key]):
            said[key] = when
    return said


def _superseded(approval: Approval, said: Mapping[tuple[str, str, str], dt.datetime]) -> str | None:
    """A reviewer who approved and then declined changed their mind: withdrawing the
    decline says they no longer object, not that they approve, so the earlier approval
    stays void (approve again). Only a statement strictly later counts: timestamps of
    one second can tie."""
    last = said.get((approval.order, approval.content_digest, approval.reviewer))
    signed = _when(approval.signed_at)
    if last is not None and signed is not None and last > signed:
        return (
            "declined it after approving, and a withdrawn decline does not restore the "
            "approval: approve again"
        )
    return None


FIRST_REVIEWERS = (
    "no reviewer is in force yet: an apply of this plan puts the reviewers it declares in "
    "force, and their approvals of it count from its next apply"
)
"""Why an approval does not count while the policies in force name no reviewer (a new
project's first reviewers): not a refusal, a step; ``approve`` and ``apply`` say what to
do next."""

IN_FORCE = (
    "under the review policy in force (the last one applied; this change's edits to it "
    "take effect once it is applied): "
)


def _in_force(
    plan: Plan,
    policy: ReviewPolicy,
    in_force: ReviewPolicy | None,
    order: Gated,
    approval: Approval,
    authorship: Authorship,
    carried: Mapping[str, EarlierPlan],
    own: Own,
) -> str | None:
    """Why the approval does not count under the policy in force, or None."""
    if in_force is None:
        return None
    if approval.reviewer not in in_force.reviewers:
        if not in_force.reviewers:
            return IN_FORCE + FIRST_REVIEWERS
        return IN_FORCE + "not a reviewer there (one this change adds counts once it is applied)"
    now = policy.reviewers.get(approval.reviewer)
    login = in_force.reviewers[approval.reviewer].github
    if (
        approval.via == "github"
        and now is not None
        and (login or "").lower() != (now.github or "").lower()
    ):
        # the pull request was read with the repository's mapping: another login's review
        return IN_FORCE + "the reviewer's GitHub login there is another"
    why = _reject(plan, in_force, order, approval, authorship, carried, own)
    return IN_FORCE + why if why else None


def _reject(
    plan: Plan,
    policy: ReviewPolicy,
    order: Gated,
    approval: Approval,
    authorship: Authorship,
    carried: Mapping[str, EarlierPlan],
    own: Own,
) -> str | None:
    """Why this approval does not count, or None when it does."""
    if approval.plan_digest != plan.digest:
        earlier = carried.get(approval.plan_digest)
        if earlier is None:
            return f"it approves another plan ({approval.plan_digest[:12]})"
        if earlier.same.get(order.id) != approval.content_digest:
            return "the order changed since it was approved"
        # the author of neither plan may approve it; the author of the plan it was
        # signed for (what the reviewer saw) must be on record when the policy says so
        signed_for = earlier.authorship
        authorship = Authorship(
            signed_for.authors | authorship.authors,
            signed_for.attested and bool(signed_for.authors),
        )
    elif approval.content_digest != order.content_digest:
        return "the order changed since it was approved"
    reviewer = policy.reviewers.get(approval.reviewer)
    if reviewer is None:
        return "not a reviewer in policies/review.yaml"
    if reviewer.revoked:
        return "the reviewer's key is revoked"
    if not set(reviewer.groups) & set(order.gate.reviewer_groups):
        return f"not in {', '.join(order.gate.reviewer_groups)}"
    if policy.require_author and not (authorship.attested and authorship.authors):
        return UNATTESTED
    if not policy.allow_self_approval and authorship.includes(approval.reviewer, reviewer.github):
        return "the author of the change cannot approve it"
    mine = why_own(own, approval.reviewer, order.identity)
    if mine:
        return own_access(mine)
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
