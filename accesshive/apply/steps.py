"""One order against one connector: send it, then read the target back and verify.

Idempotence lives in the connectors ("already exists" adopts, "not found" on
revoke or delete is done); verification is here, the same for every connector:
the object as the target now holds it must show what the order intended, or
the order is ``errored`` with the difference spelled out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accesshive.config.model import Source
from accesshive.connectors.base import Connector
from accesshive.expand.values import normalize
from accesshive.plan.orders import LINK_DETAIL, Order
from accesshive.state.snapshot import SnapshotAccount


@dataclass(frozen=True)
class Sent:
    external_id: str | None
    adopted: bool = False
    account: SnapshotAccount | None = None
    """The account as the target returned it with the write, when it did."""


def send(
    connector: Connector,
    order: Order,
    external_id: str | None,
    secret_attributes: dict[str, Any] | None = None,
) -> Sent:
    """Perform the order on the target. ``external_id`` is the account it acts on;
    ``secret_attributes`` (a generated password) go to the target and nowhere else."""
    c = order.change
    if c.action == "create_account":
        created = connector.create_account(
            c.link or "",  # the identity, and the account kind when it is not the default
            {**c.attributes, **(secret_attributes or {})},
            bool(c.details.get("enabled", True)),
        )
        return Sent(created.external_id, created.adopted, created.account)
    if external_id is None:
        raise connector.error(f"{c.action}: the account to act on is unknown")
    if c.action == "update_account":
        changed = {k: v["to"] for k, v in c.attributes.items()}
        link = c.details.get(LINK_DETAIL)
        if link:  # an adoption: record the link first, so the account is the identity's
            connector.link_account(external_id, str(link))
        if not changed:
            return Sent(external_id)
        return Sent(external_id, account=connector.update_account(external_id, changed))
    if c.action in ("enable_account", "disable_account"):
        enabled = c.action == "enable_account"
        return Sent(external_id, account=connector.set_enabled(external_id, enabled))
    if c.action == "delete_account":
        connector.delete_account(external_id)
    elif c.action == "grant":
        connector.grant(external_id, c.entitlement or "")
    elif c.action == "revoke":
        connector.revoke(external_id, c.entitlement or "")
    else:
        raise connector.error(f"{c.action} is not an account order")
    return Sent(external_id)


def verify(connector: Connector, order: Order, external_id: str | None) -> str | None:
    """None when the target shows what the order intended; else the difference.

    The one-order form, one read each (for tools and tests); apply reads a batch back
    with one ``get_accounts`` and runs ``check`` per order."""
    if external_id is None:
        return "no account id to verify"
    return check(connector.source, order, external_id, connector.get_account(external_id))


def check(
    source: Source, order: Order, external_id: str | None, account: SnapshotAccount | None
) -> str | None:
    """Does ``account`` (as just read from the target) show what ``order`` intended?"""
    c = order.change
    if external_id is None:
        return "no account id to verify"
    if c.action == "delete_account":
        return None if account is None else f"account {external_id} still exists"
    if account is None:
        return f"account {external_id} is not on the target"
    if c.action == "create_account":
        wanted_enabled = bool(c.details.get("enabled", True))
        diff = _attribute_diff(source, c.attributes, account)
        if account.enabled != wanted_enabled:
            diff.append(f"enabled: expected {wanted_enabled}, target has {account.enabled}")
        return "; ".join(diff) or None
    if c.action == "update_account":
        wanted = {k: v["to"] for k, v in c.attributes.items()}
        diff = _attribute_diff(source, wanted, account)
        link = c.details.get(LINK_DETAIL)
        if link and account.identity != link:
            diff.append(f"identity link: expected {link!r}, target has {account.identity!r}")
        return "; ".join(diff) or None
    if c.action in ("enable_account", "disable_account"):
        wanted_enabled = c.action == "enable_account"
        if account.enabled != wanted_enabled:
            return f"enabled: expected {wanted_enabled}, target has {account.enabled}"
        return None
    if c.action == "grant":
        return None if c.entitlement in account.grants else f"{c.entitlement} is not granted"
    if c.action == "revoke":
        return f"{c.entitlement} is still granted" if c.entitlement in account.grants else None
    return f"cannot verify {c.action}"


def _attribute_diff(
    source: Source, wanted: dict[str, Any] | Any, account: SnapshotAccount
) -> list[str]:
    schema = source.account.schema_
    out = []
    for attr, value in sorted(dict(wanted).items()):
        have = account.attributes.get(attr)
        if normalize(value, schema.get(attr)) != normalize(have, schema.get(attr)):
            out.append(f"{attr}: expected {value!r}, target has {have!r}")
    return out
