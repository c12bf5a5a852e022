"""Guardrails: refuse a plan that removes access at scale unless explicitly allowed.

Why: a config mistake (a role renamed, a rule typo) or a half-read target can
turn into thousands of disables. The plan is refused with a message saying how
many, on which source, and which flag confirms it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from accesshive.config.policy import GuardrailPolicy
from accesshive.errors import GuardrailError
from accesshive.plan.orders import Change
from accesshive.state.snapshot import Snapshot


def check_guardrails(
    changes: Iterable[Change], snapshot: Snapshot, policy: GuardrailPolicy
) -> list[str]:
    """Every breach, as a sentence; empty when the plan is within the guardrails."""
    removed: Counter[str] = Counter()
    for c in changes:
        if c.action in ("disable_account", "delete_account"):
            removed[c.source] += 1
    breaches: list[str] = []
    for sid, count in sorted(removed.items()):
        total = len(snapshot.source(sid).accounts)
        share = count / total if total else 1.0
        over_count = count > policy.max_removal_count
        over_share = total >= policy.min_accounts_for_share and share > policy.max_removal_share
        if over_count or over_share:
            breaches.append(
                f"source '{sid}': the plan disables or deletes {count} of {total} accounts "
                f"({share:.0%}); the guardrail allows {policy.max_removal_share:.0%} "
                f"or {policy.max_removal_count} accounts"
            )
    return breaches


def enforce(breaches: list[str], allowed: bool) -> None:
    if breaches and not allowed:
        raise GuardrailError(
            "the plan breaks the mass-change guardrail:\n  "
            + "\n  ".join(breaches)
            + "\nCheck the change; if it is intended, plan again with --allow-mass-changes."
        )
