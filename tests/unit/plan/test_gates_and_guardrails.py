"""The review policy and the mass-change guardrail, rule by rule: which orders a rule
gates (and with whose quorum), and exactly when a plan that removes access is refused."""

from __future__ import annotations

from typing import Any

import pytest

from accesshive.config.policy import GuardrailPolicy, ReviewPolicy, ReviewRule
from accesshive.errors import GuardrailError
from accesshive.plan.gates import gate_for
from accesshive.plan.guardrails import check_guardrails, enforce
from accesshive.plan.orders import Change, Gate, Need
from accesshive.state.snapshot import Snapshot, SnapshotAccount, SourceSnapshot


def _rule(name: str, **fields: Any) -> ReviewRule:
    return ReviewRule(name=name, reviewer_groups=fields.pop("groups", ["security"]), **fields)


def _grant(source: str = "wiki", sensitive: bool = False, profile: str | None = None) -> Change:
    details = {"access_profile": profile} if profile else {}
    return Change(
        "grant", source, "ada", "1", entitlement="admins", sensitive=sensitive, details=details
    )


def test_no_matching_rule_no_gate() -> None:
    policy = ReviewPolicy(rules=[_rule("deletes", order_kinds=["delete_account"])])
    assert gate_for(_grant(), policy) is None
    assert gate_for(_grant(), ReviewPolicy()) is None


def test_every_matching_rule_keeps_its_own_need() -> None:
    """Several rules gate one order: each one's quorum from its own groups must be met
    (``requires``); the union of groups and the largest quorum stay for display."""
    policy = ReviewPolicy(
        rules=[
            _rule("b-grants", order_kinds=["grant"], groups=["security", "platform"], quorum=1),
            _rule("a-sensitive", sensitive_only=True, groups=["audit", "security"], quorum=3),
            _rule("c-wiki", sources=["wiki"], groups=["wiki-owners"], quorum=2),
            _rule("d-revokes", order_kinds=["revoke"], groups=["nobody"], quorum=5),
        ]
    )
    assert gate_for(_grant(sensitive=True), policy) == Gate(
        rules=("a-sensitive", "b-grants", "c-wiki"),
        reviewer_groups=("audit", "platform", "security", "wiki-owners"),
        quorum=3,
        requires=(
            Need(("audit", "security"), 3),
            Need(("platform", "security"), 1),
            Need(("wiki-owners",), 2),
        ),
    )
    ordinary = gate_for(_grant(sensitive=False), policy)
    assert ordinary == Gate(
        rules=("b-grants", "c-wiki"),
        reviewer_groups=("platform", "security", "wiki-owners"),
        quorum=2,
        requires=(Need(("platform", "security"), 1), Need(("wiki-owners",), 2)),
    )
    assert ordinary.wanted() == "1 of platform, security and 2 of wiki-owners"
    # one rule: no separate needs (the plan file reads as it always did)
    only = gate_for(_grant(sensitive=False), ReviewPolicy(rules=[policy.rules[2]]))
    assert only == Gate(rules=("c-wiki",), reviewer_groups=("wiki-owners",), quorum=2)
    assert only.wanted("approval(s)") == "2 approval(s) from wiki-owners"
    assert "requires" not in only.to_json()


def test_sensitive_only_rules_skip_ordinary_orders() -> None:
    policy = ReviewPolicy(rules=[_rule("sensitive", sensitive_only=True)])
    assert gate_for(_grant(sensitive=False), policy) is None
    assert gate_for(_grant(sensitive=True), policy) is not None


@pytest.mark.parametrize(
    ("patterns", "source", "gated"),
    [
        (["*"], "wiki", True),
        (["wiki"], "wiki", True),
        (["wiki"], "wiki2", False),
        (["prod-*"], "prod-db", True),
        (["prod-*"], "staging-db", False),
        (["Prod-*"], "prod-db", False),  # globs are case-sensitive, like source ids
        (["a", "prod-?b"], "prod-db", True),
        ([], "wiki", False),
    ],
)
def test_source_globs(patterns: list[str], source: str, gated: bool) -> None:
    policy = ReviewPolicy(rules=[_rule("r", sources=patterns)])
    assert (gate_for(_grant(source=source), policy) is not None) is gated


@pytest.mark.parametrize(
    ("patterns", "profile", "gated"),
    [
        ([], None, True),  # no profile filter: any grant
        (["admin-*"], "admin-wiki", True),
        (["admin-*"], "base", False),
        (["admin-*"], None, False),  # a filter on profiles needs a grant from one
        (["base", "admin-?iki"], "admin-wiki", True),
        (["Admin-*"], "admin-wiki", False),
    ],
)
def test_access_profile_globs(patterns: list[str], profile: str | None, gated: bool) -> None:
    policy = ReviewPolicy(rules=[_rule("r", access_profiles=patterns)])
    assert (gate_for(_grant(profile=profile), policy) is not None) is gated


def test_a_task_is_matched_by_its_action_and_by_manual_task() -> None:
    task = Change("disable_account", "badges", "ada", "7")
    by_action = ReviewPolicy(rules=[_rule("disables", order_kinds=["disable_account"])])
    by_kind = ReviewPolicy(rules=[_rule("tasks", order_kinds=["manual_task"])])
    assert gate_for(task, by_action, "manual_task") is not None
    assert gate_for(task, by_kind, "manual_task") is not None
    assert gate_for(task, by_kind) is None  # not a task: the rule is about tasks
    grant = _grant()
    assert gate_for(grant, by_kind, "manual_task") is not None


def _snapshot(**counts: int) -> Snapshot:
    return Snapshot(
        sources={
            sid: SourceSnapshot(accounts=[SnapshotAccount(external_id=str(n)) for n in range(c)])
            for sid, c in counts.items()
        }
    )


def _removals(source: str, disables: int, deletes: int = 0) -> list[Change]:
    return [Change("disable_account", source, f"p{n}", str(n)) for n in range(disables)] + [
        Change("delete_account", source, f"q{n}", f"d{n}") for n in range(deletes)
    ]


def test_within_the_guardrail_nothing_is_said() -> None:
    policy = GuardrailPolicy(max_removal_share=0.1, max_removal_count=5, min_accounts_for_share=20)
    changes = [*_removals("wiki", 2), Change("grant", "wiki", "ada", "1", entitlement="x")]
    assert check_guardrails(changes, _snapshot(wiki=100), policy) == []
    enforce([], allowed=False)


def test_a_removal_count_over_the_limit_is_a_breach() -> None:
    policy = GuardrailPolicy(max_removal_share=1.0, max_removal_count=3, min_accounts_for_share=20)
    snapshot = _snapshot(wiki=100, crm=100)
    assert check_guardrails(_removals("wiki", 3), snapshot, policy) == []  # at the limit
    assert check_guardrails(_removals("wiki", 2, deletes=2), snapshot, policy) == [
        "source 'wiki': the plan disables or deletes 4 of 100 accounts (4%); the guardrail "
        "allows 100% or 3 accounts"
    ]


def test_a_removal_share_over_the_limit_is_a_breach_on_big_enough_sources() -> None:
    policy = GuardrailPolicy(
        max_removal_share=0.25, max_removal_count=1000, min_accounts_for_share=8
    )
    assert check_guardrails(_removals("wiki", 2), _snapshot(wiki=8), policy) == []  # 25%
    assert check_guardrails(_removals("wiki", 3), _snapshot(wiki=8), policy) == [
        "source 'wiki': the plan disables or deletes 3 of 8 accounts (38%); the guardrail "
        "allows 25% or 1000 accounts"
    ]
    # a source smaller than min_accounts_for_share is judged by the count only
    assert check_guardrails(_removals("wiki", 6), _snapshot(wiki=7), policy) == []


def test_every_source_in_breach_is_named_in_order() -> None:
    policy = GuardrailPolicy(max_removal_share=1.0, max_removal_count=1, min_accounts_for_share=0)
    changes = [*_removals("wiki", 2), *_removals("crm", 3), *_removals("hr", 1)]
    breaches = check_guardrails(changes, _snapshot(wiki=10, crm=10, hr=10), policy)
    assert [b.split(":")[0] for b in breaches] == ["source 'crm'", "source 'wiki'"]


def test_removals_on_a_source_with_no_accounts_read_are_all_of_it() -> None:
    policy = GuardrailPolicy(max_removal_share=0.5, max_removal_count=10, min_accounts_for_share=0)
    assert check_guardrails(_removals("wiki", 1), _snapshot(), policy) == [
        "source 'wiki': the plan disables or deletes 1 of 0 accounts (100%); the guardrail "
        "allows 50% or 10 accounts"
    ]


def test_a_breach_is_refused_unless_allowed() -> None:
    breaches = ["source 'a': x", "source 'b': y"]
    with pytest.raises(GuardrailError) as caught:
        enforce(breaches, allowed=False)
    assert str(caught.value) == (
        "the plan breaks the mass-change guardrail:\n  source 'a': x\n  source 'b': y\n"
        "Check the change; if it is intended, plan again with --allow-mass-changes."
    )
    enforce(breaches, allowed=True)
