"""Plans built from a handful of orders, for unit tests of what apply makes of a plan
(which account an order acts on, what it reads again, what its summary says): only the
orders matter there, so the rest of the plan is the same empty frame every time."""

from __future__ import annotations

from typing import Any

from accesshive.plan.model import Plan
from accesshive.plan.orders import Change, Order


def order(oid: str, action: str, identity: str | None, **change: Any) -> Order:
    """An order ``oid`` whose kind is its action; ``change``: the rest of its Change
    (``source`` defaults to ``wiki``)."""
    change.setdefault("source", "wiki")
    return Order(id=oid, kind=action, change=Change(action=action, identity=identity, **change))


def plan_of(*orders: Order) -> Plan:
    return Plan(
        project="p",
        tool_version="0",
        config_digest="c",
        fingerprints={},
        orders=orders,
        orphans=(),
        adoptions=(),
    )


def adoption(source: str, external_id: str, attributes: dict[str, dict[str, str]]) -> Order:
    """carl.gauss's adoption of the account ``external_id`` (named carl) on ``source``:
    an update that also writes the identity link, as the plan makes it."""
    change = Change(
        "update_account",
        source,
        "carl.gauss",
        external_id,
        "carl",
        attributes=attributes,
        details={"link": "carl.gauss"},
    )
    return Order(change.order_id(), "update_account", change)
