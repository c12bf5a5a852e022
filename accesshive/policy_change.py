"""A change that adds to or loosens the review policies in force needs their approval.

Why: until a change to ``policies/`` is applied, the policies in force judge it as well
(``policies_in_force``), so it cannot loosen the review of itself. But once applied, its
policies are the ones in force: a pull request that only adds its author as a reviewer
(or removes a rule, or a ``sensitive: true``) has no gated order, so nothing stopped it
from going in force, and the next pull request was judged by it alone. So such a change
is itself gated: the plan carries a ``PolicyChange`` (approved as the order
``policy-change``), and apply puts its policies in force only once reviewers of the
policies in force approved it (``operations/applying.py``). The rest of the plan runs as
before, judged by both.

A change that only tightens (a reviewer or key revoked or removed, a rule or a
classification added) goes in force as before, with no approval: it takes effect at once
anyway, and an emergency revocation must not wait for a quorum. One that leaves no
reviewer at all never goes in force (nobody could then approve the next change but the
reviewers it brings). While the policies in force name no reviewer (a new project's),
nothing can approve anything: the change that declares the first reviewers is put in
force as it always was (README: "Review gates and approvals").

Pure: planning, approvals and apply compute it from the configuration and the policies in
force they read; never from a plan file.
"""

from __future__ import annotations

from accesshive.config import Config
from accesshive.config.policy import Reviewer
from accesshive.plan.model import PolicyChange
from accesshive.plan.orders import Gate, Need
from accesshive.policies_in_force import (
    PoliciesInForce,
    named,
    profile_grants,
    promotion_from,
    reviewer_changes,
    selector,
)

RULE = "policy-change"
"""The rule name a policy change's gate gives when ``review.policy_changes`` is not set."""


def policy_change(config: Config, in_force: PoliciesInForce | None) -> PolicyChange | None:
    """The change the repository makes to ``in_force`` that needs their approval, or None:
    nothing differs (``in_force`` None), the change only tightens, or the policies in
    force name no reviewer to approve it."""
    if in_force is None or not in_force.review.reviewers:
        return None
    loosens = loosening(config, in_force)
    if not loosens:
        return None
    return PolicyChange(
        in_force.digest, PoliciesInForce.of(config).digest, tuple(loosens), gate_of(in_force)
    )


def gate_of(in_force: PoliciesInForce) -> Gate:
    """Who approves a change to ``in_force``: ``review.policy_changes`` when it is set;
    else every rule in force's need (the change can touch what any rule reviews, so each
    rule's reviewers must agree), and any reviewer when no rule is in force."""
    review = in_force.review
    if review.policy_changes is not None:
        given = review.policy_changes
        return Gate(("policy_changes",), tuple(sorted(given.reviewer_groups)), given.quorum)
    able = [r for r in review.reviewers.values() if _able(r)]
    found: set[Need] = set()
    for rule in review.rules:
        # a rule's need as far as its reviewers can meet it: a rule naming a group nobody
        # able is in (or a quorum larger than its group) must not lock the policies in
        # force against every change, the one that would fix it included
        eligible = sum(1 for r in able if set(r.groups) & set(rule.reviewer_groups))
        if eligible:
            found.add(Need(tuple(sorted(rule.reviewer_groups)), min(rule.quorum, eligible)))
    needs = sorted(found, key=lambda n: (n.groups, n.quorum))
    if not needs:
        every = sorted({g for r in able for g in r.groups})
        return Gate((RULE,), tuple(every), 1)
    return Gate(
        (RULE,),
        tuple(sorted({g for n in needs for g in n.groups})),
        max(n.quorum for n in needs),
        tuple(needs) if len(needs) > 1 else (),
    )


NONE_LEFT = (
    "no reviewer left who could approve (every one removed, revoked or without a key): "
    "such a change is never put in force, since nobody could approve the next one"
)


def _able(reviewer: Reviewer) -> bool:
    """Whether the reviewer can approve at all: not revoked, with a key or a GitHub login."""
    return not reviewer.revoked and bool(reviewer.ssh_keys() or reviewer.github)


def loosening(config: Config, in_force: PoliciesInForce) -> list[str]:
    """What the repository's policies add to or loosen in ``in_force``: each item could
    let a grant through with less review than in force. Conservative: an edited rule or
    guardrail counts, whichever way it goes."""
    old, new = in_force.review, config.policies.review
    out: list[str] = []
    who = reviewer_changes(old, new)
    named(out, "reviewers added", who["added"])
    if any(_able(r) for r in old.reviewers.values()) and not any(
        _able(r) for r in new.reviewers.values()
    ):
        out.append(NONE_LEFT)
    named(out, "reviewers put in more groups", who["more groups"])
    named(out, "keys added", who["keys added"])
    named(out, "un-revoked", who["un-revoked"])
    named(out, "reviewers' own identity or email changed", who["own"])
    named(out, "GitHub logins changed", who["github"])
    rules_old = {r.name: r for r in old.rules}
    rules_new = {r.name: r for r in new.rules}
    named(out, "rules removed", set(rules_old) - set(rules_new))
    named(
        out,
        "rules changed",
        {n for n in set(rules_old) & set(rules_new) if rules_old[n] != rules_new[n]},
    )
    if old.policy_changes != new.policy_changes:
        out.append("who approves a change to the review policies changed (review.policy_changes)")
    if new.allow_self_approval and not old.allow_self_approval:
        out.append("allow_self_approval: false → true")
    if old.require_author and not new.require_author:
        out.append("require_author: true → false")
    before = in_force.promotion_from
    if before is not None and before != promotion_from(config):
        out.append(f"require_promotion_from: {before} → {promotion_from(config) or 'none'}")
    if in_force.profile_grants is not None:
        now = profile_grants(config)
        named(
            out,
            "access profiles a review rule names grant less",
            {
                p
                for p, granted in in_force.profile_grants.items()
                if granted - now.get(p, frozenset())
            },
        )
    if in_force.guardrails is not None and in_force.guardrails != config.policies.guardrails:
        out.append("guardrails changed")
    now_policies = PoliciesInForce.of(config)
    selectors_old = {selector(s) for s in in_force.classification.sensitive}
    selectors_new = {selector(s) for s in now_policies.classification.sensitive}
    named(out, "sensitive classifications removed", selectors_old - selectors_new)
    flag_old = {f"{s}/{e}" for s, ents in in_force.flagged.items() for e in ents}
    flag_new = {f"{s}/{e}" for s, ents in now_policies.flagged.items() for e in ents}
    named(out, "entitlements no longer flagged sensitive", flag_old - flag_new)
    return out
