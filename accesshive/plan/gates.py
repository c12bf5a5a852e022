"""Review gates: which orders need whose approval, from the review and classification policies.

An order is gated when any review rule matches it. When several rules match, each
one's need (its quorum from its own groups) must be met: the gate records them all
(``Gate.requires``), beside the union of their groups and the largest quorum. A manual task is
matched by the action it asks a person to perform, and by ``manual_task`` itself (a
rule naming ``manual_task`` gates every task, instead of silently gating nothing).
"""

from __future__ import annotations

import fnmatch

from accesshive.config.policy import ReviewPolicy, ReviewRule
from accesshive.plan.orders import Change, Gate, Need


def gate_for(change: Change, policy: ReviewPolicy, kind: str | None = None) -> Gate | None:
    """``kind``: the order's kind, when it is not the change's action (``manual_task``)."""
    matched = [rule for rule in policy.rules if _matches(rule, change, kind or change.action)]
    if not matched:
        return None
    groups = sorted({g for rule in matched for g in rule.reviewer_groups})
    needs = sorted({Need(tuple(sorted(r.reviewer_groups)), r.quorum) for r in matched}, key=_key)
    return Gate(
        rules=tuple(sorted(rule.name for rule in matched)),
        reviewer_groups=tuple(groups),
        quorum=max(rule.quorum for rule in matched),
        requires=tuple(needs) if len(needs) > 1 else (),
    )


def _key(need: Need) -> tuple[tuple[str, ...], int]:
    return need.groups, need.quorum


def _matches(rule: ReviewRule, change: Change, kind: str) -> bool:
    if rule.order_kinds and change.action not in rule.order_kinds and kind not in rule.order_kinds:
        return False
    if rule.sensitive_only and not change.sensitive:
        return False
    if not any(fnmatch.fnmatchcase(change.source, pat) for pat in rule.sources):
        return False
    if rule.access_profiles:
        via = change.details.get("access_profile")
        if not via or not any(fnmatch.fnmatchcase(str(via), p) for p in rule.access_profiles):
            return False
    return True
