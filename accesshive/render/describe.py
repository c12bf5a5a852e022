"""Words for orders, shared by every renderer so text and Markdown say the same thing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accesshive.config.account_kinds import DEFAULT_KIND, kind_label
from accesshive.plan.orders import ADDING, CHANGING, LINK_DETAIL, REMOVING, Order

MAX_VALUE = 60
GROUPS_LABEL = "(managed groups)"
"""Where plans list the orders on managed groups, apart from any identity's."""


def marker(order: Order) -> str:
    if order.action in ADDING:
        return "+"
    if order.action in CHANGING:
        return "~"
    if order.action in REMOVING:
        return "-"
    return "?"


def show_value(value: Any) -> str:
    text = "null" if value is None else str(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def summary_line(order: Order) -> str:
    """One line: what the order does, without its id or gate."""
    c = order.change
    name = c.name or c.account or c.identity or "?"
    # an account of another kind than the default names its kind: "jdoe-admin (admin)";
    # a task, read by a person, says it in words: "admin account Grace Hopper (master)"
    worded = order.kind == "manual_task" and c.account_kind != DEFAULT_KIND
    target = f"{c.account_kind} account {name}" if worded else name + kind_label(c.account_kind)
    act = c.action
    if act == "create_account":
        enabled = "" if c.details.get("enabled", True) else " (disabled)"
        pw = ", generated password" if c.details.get("generate_password") else ""
        what = target if worded else f"account {target}"
        text = f"create {what} on {c.source}{enabled}{pw}"
    elif act == "update_account":
        parts = [
            f"{k}: {show_value(v['from'])} → {show_value(v['to'])}"
            for k, v in sorted(c.attributes.items())
        ]
        if c.details.get(LINK_DETAIL):  # an adopted account: its identity link is written
            parts.append(f"link it to {c.details[LINK_DETAIL]}")
        text = f"update {target} on {c.source}: " + "; ".join(parts)
    elif act in ("grant", "revoke"):
        via = c.details.get("access_profile")
        text = (
            f"{act} {c.entitlement} on {c.source} to {target}"
            if act == "grant"
            else (f"revoke {c.entitlement} on {c.source} from {target}")
        )
        if via:
            text += f" (access profile {via})"
        if c.sensitive:
            text += " [sensitive]"
    elif act in ("create_group", "update_group", "delete_group"):
        text = _group_line(c.action, c.entitlement, c.name, c.source, c.attributes, c.details)
        if c.sensitive:
            text += " [sensitive]"
    elif act in ("store_credential", "rotate_credential"):
        verb = "store" if act == "store_credential" else "rotate"
        kind = c.details.get("credential_kind", "credential")
        how = "generated" if c.details.get("mode") == "managed" else "supplied"
        text = f"{verb} {kind} ({how}) for {c.identity} in {c.source}"
    else:
        verb = act.replace("_account", "")
        orphan = " (orphan)" if c.details.get("orphan") else ""
        what = target if worded else f"account {target}"
        text = f"{verb} {what} on {c.source}{orphan}"
    if order.kind == "manual_task":
        text = f"manual task for {order.assignee}: {text}"
    return text


def _group_line(
    act: str,
    entitlement: str | None,
    name: str | None,
    source: str,
    attributes: Mapping[str, Any],
    details: Mapping[str, Any],
) -> str:
    """A managed group's order: named by its entitlement id, the key that survives a rename."""
    label = f"group {entitlement}" + (f" ({name})" if name and name != entitlement else "")
    if act == "create_group":
        return f"create {label} on {source}"
    if act == "delete_group":
        return f"delete {label} on {source}"
    parts = [
        f"{k}: {show_value(v['from'])} → {show_value(v['to'])}"
        for k, v in sorted(attributes.items())
    ]
    if details.get("adopted"):
        parts.insert(0, f"adopt the existing group found by its {details['adopted']}")
    return f"update {label} on {source}: " + "; ".join(parts)


def gate_text(order: Order) -> str:
    if order.gate is None:
        return ""
    return f"awaiting approval: {order.gate.wanted()}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 order``, ``2 orders``: the count with its noun in the right number."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"
