"""Which account an order acts on, known before apply walks the plan: a grant on an
account the plan names goes to that account, and one on an account this plan creates
goes to the account the create made. An account the plan found held twice, or no longer
assigned to its identity, must never be taken as the identity's account: a grant sent
there would land on the wrong account."""

from __future__ import annotations

from typing import Any

from accesshive.apply.accounts import known_accounts
from accesshive.plan.orders import Order
from tests.support.plans import order, plan_of


def _order(
    oid: str,
    action: str,
    identity: str | None,
    account: str | None = None,
    source: str = "wiki",
    **details: Any,
) -> Order:
    entitlement = "e" if action == "grant" else None
    return order(
        oid,
        action,
        identity,
        source=source,
        entitlement=entitlement,
        account=account,
        details=details,
    )


def test_the_plans_own_accounts_are_known_by_identity_and_kind() -> None:
    plan = plan_of(
        _order("u1", "update_account", "ada", account="acc-ada"),
        _order("g1", "grant", "bob", account="acc-bob", source="crm"),
        _order("u2", "update_account", "ada", account="acc-ada-admin", account_kind="admin"),
    )
    assert known_accounts(plan, {}) == {
        ("wiki", "ada"): "acc-ada",
        ("crm", "bob"): "acc-bob",
        ("wiki", plan.orders[2].change.link): "acc-ada-admin",
    }
    assert plan.orders[2].change.link != "ada"


def test_an_account_that_is_not_the_identitys_own_is_never_known_as_it() -> None:
    plan = plan_of(
        # an orphan: no identity
        _order("d1", "delete_account", None, account="acc-orphan"),
        # the identity's second account on the source, and one no longer assigned to it
        _order("d2", "delete_account", "ada", account="acc-ada-2", duplicate="acc-ada-2"),
        _order("d3", "disable_account", "bob", account="acc-bob-old", unassigned="acc-bob-old"),
        # a create: no account yet
        _order("c1", "create_account", "cy"),
    )
    assert known_accounts(plan, {}) == {}


def test_a_create_already_done_names_the_account_it_made() -> None:
    plan = plan_of(
        _order("c1", "create_account", "cy"),
        _order("c2", "create_account", "dee"),
        _order("g1", "grant", "cy"),
        # an order that is not a create never names an account by its result
        _order("u1", "update_account", "ed", account="acc-ed"),
    )
    results = {"c1": "acc-cy", "g1": "not-an-account", "u1": "acc-other"}
    assert known_accounts(plan, results) == {("wiki", "cy"): "acc-cy", ("wiki", "ed"): "acc-ed"}
    # the create's result wins over an account the plan named for the same link (the
    # account was re-created)
    replaced = plan_of(
        _order("u1", "update_account", "cy", account="acc-cy-old"),
        _order("c1", "create_account", "cy"),
    )
    assert known_accounts(replaced, {"c1": "acc-cy-new"}) == {("wiki", "cy"): "acc-cy-new"}
