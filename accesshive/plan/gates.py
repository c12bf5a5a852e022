"""Review gates: which orders need whose approval, from the review and classification policies.

An order is gated when any review rule matches it. When several rules match, each
one's need (its quorum from its own groups) must be met: the gate records them all
(``Gate.requires``), beside the union of their groups and the largest quorum. A manual task is
matched by the action it asks a person to perform, and by ``manual_task`` itself (a
rule naming ``manual_task`` gates every task, instead of silently gating nothing).

While a change to the review policy or the classification is not applied yet, ``guarded``
gates each order by the policies in force too (``policies_in_force``): a change never
loosens the review of itself; and what it adds or loosens is itself gated by the policies
in force (``policy_change``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection
from dataclasses import replace

from accesshive.config import Config
from accesshive.config.policy import ReviewPolicy, ReviewRule
from accesshive.config.targets import called as names_on_target
from accesshive.config.targets import known_as, targets
from accesshive.plan.model import Plan
from accesshive.plan.orders import Change, Gate, Need
from accesshive.policies_in_force import PoliciesInForce, warning
from accesshive.policy_change import policy_change


def gate_for(
    change: Change,
    policy: ReviewPolicy,
    kind: str | None = None,
    names: Collection[str] = (),
    profiles: Collection[str] = (),
) -> Gate | None:
    """``kind``: the order's kind, when it is not the change's action (``manual_task``).
    ``names``: every name of the change's target (``config/targets.py``): a rule scoped to
    one source covers every source on the same system. ``profiles``: every access
    profile that grants the change's entitlement there (``known``): a rule scoped to
    access profiles covers the entitlements they grant, by whatever profile it comes."""
    known_names = sorted({change.source, *names})
    kind = kind or change.action
    via = change.details.get("access_profile")
    vias = sorted({*profiles, *([str(via)] if via else [])})
    matched = [rule for rule in policy.rules if _matches(rule, change, kind, known_names, vias)]
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


def called(config: Config, source: str, entitlement: str) -> tuple[str, ...]:
    """What the entitlement is called by on the source's target (``targets.called``)."""
    spec = config.sources.get(source)
    return (entitlement,) if spec is None else names_on_target(spec, entitlement)


def known(config: Config, change: Change) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the change's target and the access profiles that grant its
    entitlement there: what ``gate_for`` matches rules against besides the change."""
    names = known_as(config).get(change.source, frozenset({change.source}))
    if not change.entitlement:
        return names, frozenset()
    by = _granted_by(config)
    return names, frozenset(p for n in names for p in by.get((n, change.entitlement), ()))


def _granted_by(config: Config) -> dict[tuple[str, str], frozenset[str]]:
    """(source, entitlement) → the access profiles that grant it (computed once)."""
    found = config.memo.get("granted_by")
    if found is None:
        out: dict[tuple[str, str], set[str]] = {}
        for pid, profile in config.access_profiles.items():
            for entitlement in profile.entitlements:
                out.setdefault((profile.source, entitlement), set()).add(pid)
        found = {k: frozenset(v) for k, v in out.items()}
        config.memo["granted_by"] = found
    return found


def _matches(
    rule: ReviewRule, change: Change, kind: str, names: list[str], vias: list[str]
) -> bool:
    if rule.order_kinds and change.action not in rule.order_kinds and kind not in rule.order_kinds:
        return False
    if rule.sensitive_only and not change.sensitive:
        return False
    if not any(fnmatch.fnmatchcase(name, pat) for pat in rule.sources for name in names):
        return False
    return not rule.access_profiles or any(
        fnmatch.fnmatchcase(v, p) for v in vias for p in rule.access_profiles
    )


def merged(*gates: Gate | None) -> Gate | None:
    """One gate that needs everything each of ``gates`` needs (the policies in force and
    the repository's, while a change to them is not applied yet)."""
    found = [g for g in gates if g is not None]
    if not found:
        return None
    if len(found) == 1 or all(g == found[0] for g in found):
        return found[0]
    needs = sorted({n for g in found for n in g.needs()}, key=_key)
    return Gate(
        rules=tuple(sorted({r for g in found for r in g.rules})),
        reviewer_groups=tuple(sorted({x for g in found for x in g.reviewer_groups})),
        quorum=max(g.quorum for g in found),
        requires=tuple(needs) if len(needs) > 1 else (),
    )


def guarded(plan: Plan, config: Config, in_force: PoliciesInForce | None, environment: str) -> Plan:
    """``plan`` judged by the policies in force as well as the repository's, when the
    repository changes them (``policies_in_force``): an order is sensitive when either
    classifies it so, and gated when either gates it, with both sets of needs; the plan's
    first warning says what changed. Unchanged policies: the plan as it is, byte for
    byte."""
    if in_force is None:
        return plan
    wide = in_force.widened(config.sources)  # a renamed source keeps its review
    on = targets(config)
    orders = []
    for order in plan.orders:
        change = order.change
        names, profiles = known(config, change)
        old_names = wide.known_as(change.source, on.get(change.source))
        # a source now on another system than in force is as new: its grants are
        # reviewed until the change is applied (it may have moved onto a flagged one)
        then = (wide.targets or {}).get(change.source)
        moved = then is not None and then != on.get(change.source)
        if (
            change.entitlement
            and not change.sensitive
            and (
                moved
                or any(
                    wide.sensitive(change.source, n, old_names)
                    for n in called(config, change.source, change.entitlement)
                )
            )
        ):
            change = replace(change, sensitive=True)
        gate = merged(
            gate_for(change, config.policies.review, order.kind, names, profiles),
            gate_for(
                change,
                wide.review,
                order.kind,
                names | old_names,
                profiles | wide.granting(names | old_names, change.entitlement or ""),
            ),
        )
        orders.append(replace(order, change=change, gate=gate))
    return replace(
        plan,
        orders=tuple(orders),
        warnings=(warning(config, in_force, environment), *plan.warnings),
        policy_change=policy_change(config, in_force),
    )
