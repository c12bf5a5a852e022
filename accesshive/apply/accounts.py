"""Which account each order acts on, known before the walk starts.

An order that grants or changes something on an account created by this plan does not
name the account in the plan (it did not exist then): its link (identity and account
kind, ``Change.link``) finds the account the create made, recorded as the create's result.
"""

from __future__ import annotations

from collections.abc import Mapping

from accesshive.plan.kinds import OrderKind
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order


def own_account(order: Order) -> str | None:
    """The account the order names when it is its identity's own, else None: not an
    orphan's, not a second account of the identity on the source (``duplicate``), not one
    no longer assigned to it (``unassigned``). Only such an account may be found by the
    identity's link: a grant sent to the others would land on the wrong account."""
    c, d = order.change, order.change.details
    if c.identity and not (d.get("duplicate") or d.get("unassigned")):
        return c.account or None
    return None


def known_accounts(plan: Plan, results: Mapping[str, str]) -> dict[tuple[str, str | None], str]:
    """(source, link) → external id: from the plan, and from creates already done
    (``results``: order id → the account a create made or adopted)."""
    known: dict[tuple[str, str | None], str] = {}
    for o in plan.orders:
        if account := own_account(o):
            known[(o.change.source, o.change.link)] = account
    for o in plan.orders:
        if o.action == OrderKind.CREATE_ACCOUNT and o.id in results:
            known[(o.change.source, o.change.link)] = results[o.id]
    return known
