"""An in-memory target: applies a plan's orders to a snapshot, as a perfect connector would.

Used by the convergence property test: plan → simulate → plan again must give
no orders. It follows the connector obligations (create links the account to
its identity, grants are idempotent, delete removes the account).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from accesshive.plan.model import Plan
from accesshive.state.snapshot import Snapshot


def simulate(plan: Plan, snapshot: Snapshot, today: dt.date) -> Snapshot:
    data: dict[str, Any] = snapshot.model_dump(mode="python")
    sources: dict[str, Any] = data.setdefault("sources", {})
    for order in plan.orders:
        c = order.change
        src = sources.setdefault(c.source, {"accounts": [], "credentials": [], "read_at": None})
        accounts: list[dict[str, Any]] = src["accounts"]
        if c.action in ("store_credential", "rotate_credential"):
            creds = [x for x in src["credentials"] if x["identity"] != c.identity]
            creds.append(
                {
                    "identity": c.identity,
                    "kind": c.details.get("credential_kind", "password"),
                    "stored_at": today,
                    "rotated_at": today,
                    "key_id": "k1",
                }
            )
            src["credentials"] = creds
            continue
        if c.action in ("create_group", "update_group", "delete_group"):
            _group(src.setdefault("groups", []), c.action, c)
            continue
        if c.action == "create_account":
            accounts.append(
                {
                    "external_id": f"{c.source}:{c.link}",
                    "identity": c.link,  # what a connector records: identity, or identity#kind
                    "enabled": bool(c.details.get("enabled", True)),
                    "attributes": dict(c.attributes),
                    "grants": [],
                    "last_login": None,
                }
            )
            continue
        account = _find(accounts, c.account, c.source, c.link)
        if c.action == "update_account":
            for attr, change in c.attributes.items():
                account["attributes"][attr] = change["to"]
            account["identity"] = c.link
        elif c.action == "enable_account":
            account["enabled"] = True
        elif c.action == "disable_account":
            account["enabled"] = False
        elif c.action == "grant":
            if c.entitlement not in account["grants"]:
                account["grants"].append(c.entitlement)
        elif c.action == "revoke":
            account["grants"] = [g for g in account["grants"] if g != c.entitlement]
        elif c.action == "delete_account":
            accounts.remove(account)
    for src in sources.values():  # a managed group's members: the accounts that hold it
        for group in src.get("groups", []):
            held = sum(1 for a in src["accounts"] if group["entitlement"] in a["grants"])
            group["members"] = held
    return Snapshot.model_validate(data)


def _group(groups: list[dict[str, Any]], action: str, c: Any) -> None:
    """A managed group's order, as a connector does it: created carrying its key,
    renamed and adopted (key written) by an update, gone after a delete."""
    if action == "create_group":
        attributes = {k: v for k, v in c.attributes.items() if k != "name"}
        groups.append(
            {
                "external_id": f"{c.source}:group:{c.entitlement}",
                "name": c.attributes["name"],
                "entitlement": c.entitlement,
                "attributes": attributes,
                "members": 0,
            }
        )
        return
    group = next(g for g in groups if g["external_id"] == c.account)
    if action == "delete_group":
        groups.remove(group)
        return
    group["entitlement"] = c.entitlement
    for attr, change in c.attributes.items():
        if attr == "name":
            group["name"] = change["to"]
        else:
            group["attributes"][attr] = change["to"]


def _find(
    accounts: list[dict[str, Any]], external_id: str | None, source: str, identity: str | None
) -> dict[str, Any]:
    wanted = external_id or f"{source}:{identity}"
    for account in accounts:
        if account["external_id"] == wanted:
            return account
    raise AssertionError(f"order targets {wanted} on {source}, which does not exist")
