"""A review rule scoped to access profiles covers the entitlements those profiles grant,
whatever profile a grant comes by: a new profile for the same entitlement must not
route around a two-person rule (the order is the same order either way)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from accesshive.operations import StoreRef, plan_repository
from tests.conftest import reviewed_quickstart

TODAY = dt.date(2026, 11, 29)
REVIEW = """review:
  rules:
    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true,
       reviewer_groups: [security]}
    - {name: admin-two-person, order_kinds: [grant], access_profiles: [wiki-admin],
       reviewer_groups: [security], quorum: 2}
"""


def _ada_gate(repo: Path) -> tuple[str, tuple[str, ...]]:
    plan = plan_repository(repo, TODAY, store=StoreRef())
    (order,) = [
        o
        for o in plan.orders
        if o.change.identity == "ada.lovelace" and o.change.entitlement == "wiki-admins"
    ]
    assert order.gate is not None
    return order.id, order.gate.rules


def _give_ada(repo: Path, role: str) -> None:
    """ada.lovelace holds ``role`` (and only it, besides the rule-based ones)."""
    people = repo / "identities" / "people.yaml"
    text = people.read_text()
    head = "  ada.lovelace:\n    type: human\n"
    rest = text[text.index(head) + len(head) :]
    if rest.startswith("    roles: ["):
        rest = rest[rest.index("\n") + 1 :]
    people.write_text(text[: text.index(head)] + head + f"    roles: [{role}]\n" + rest)


def test_a_new_profile_for_the_same_entitlement_is_gated_as_the_reviewed_one(
    tmp_path: Path,
) -> None:
    repo = reviewed_quickstart(tmp_path / "quickstart", REVIEW)
    _give_ada(repo, "ops-admin")  # the reviewed route: profile wiki-admin
    reviewed_id, reviewed_rules = _ada_gate(repo)
    assert reviewed_rules == ("admin-two-person", "sensitive-grants")

    access = repo / "access.yaml"
    access.write_text(
        access.read_text()
        .replace(
            "access_profiles:\n",
            "access_profiles:\n  wiki-ops:\n    source: wiki\n    entitlements: [wiki-admins]\n",
            1,
        )
        .replace("roles:\n", "roles:\n  wiki-operator:\n    access_profiles: [wiki-ops]\n", 1)
    )
    _give_ada(repo, "wiki-operator")
    order_id, rules = _ada_gate(repo)
    assert order_id == reviewed_id  # the same order, by another profile
    assert rules == reviewed_rules


EDIT_REVIEW = """review:
  rules:
    - {name: edit-review, order_kinds: [grant], access_profiles: [wiki-edit],
       reviewer_groups: [security]}
"""


def test_an_entitlement_moved_out_of_a_reviewed_profile_keeps_its_review(
    tmp_path: Path,
) -> None:
    """The rule on wiki-edit is in force. The change takes editors out of wiki-edit and
    grants it through a new profile wiki-ed3 instead: editors was wiki-edit's in force,
    so the rule still covers it until the change is applied, and the warning says so."""
    from accesshive.operations import apply_plan

    repo = reviewed_quickstart(tmp_path / "quickstart", EDIT_REVIEW)
    apply_plan(repo, plan_repository(repo, TODAY, store=StoreRef()), StoreRef(), TODAY, "ci")
    _give_ada(repo, "wiki-operator")
    access = repo / "access.yaml"
    access.write_text(
        access.read_text()
        .replace("entitlements: [readers, editors]", "entitlements: [readers]", 1)
        .replace(
            "access_profiles:\n",
            "access_profiles:\n  wiki-ed3:\n    source: wiki\n    entitlements: [editors]\n",
            1,
        )
        .replace("roles:\n", "roles:\n  wiki-operator:\n    access_profiles: [wiki-ed3]\n", 1)
    )
    plan = plan_repository(repo, TODAY, store=StoreRef())
    (order,) = [
        o
        for o in plan.orders
        if o.change.identity == "ada.lovelace" and o.change.entitlement == "editors"
    ]
    assert order.gate is not None and "edit-review" in order.gate.rules, order
    assert "access profiles a review rule names now grant otherwise" in plan.warnings[0]
