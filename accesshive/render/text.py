"""The plan for a terminal: grouped by identity, ``+ ~ -`` markers, counts, gates flagged."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from accesshive.config.account_kinds import kind_label
from accesshive.plan.kinds import GROUP_ACTIONS
from accesshive.plan.model import POLICY_CHANGE, Plan, PolicyChange
from accesshive.plan.orders import Order
from accesshive.policies_in_force import policy_warnings
from accesshive.render.describe import GROUPS_LABEL, gate_text, marker, plural, summary_line
from accesshive.terminal_text import shown

if TYPE_CHECKING:
    from accesshive.approvals.declines import Decline
    from accesshive.approvals.model import OrderApproval

Style = Callable[..., str]


def _plain(text: str, **_: object) -> str:
    return text


COLOURS = {"+": "green", "~": "yellow", "-": "red", "?": "cyan"}


def render_text(
    plan: Plan,
    style: Style = _plain,
    declines: Mapping[str, list[Decline]] | None = None,
    approvals: Mapping[str, OrderApproval] | None = None,
) -> str:
    """``declines``: per declined order, the declines that hold (when the repository is
    known): such an order shows who declined it and why, not the approval it waits for
    (a declined order is not applied, whoever approves it). ``approvals``: what the
    approvals given so far count for (``show`` in a repository), so that an approved
    order reads approved here as in the PR comment and ``approvals verify``.

    Every value that comes from the configuration, a target or a person (names,
    attribute values, reasons, warnings naming them) is ``shown``: a newline in a
    display name cannot forge a line of the plan."""
    declines = {oid: held for oid, held in (declines or {}).items() if held}
    verdicts = approvals or {}
    approved = {
        oid
        for oid, v in verdicts.items()
        if v.approved and oid not in declines and oid != POLICY_CHANGE
    }
    lines: list[str] = []
    s = plan.summary()
    if not plan.orders and plan.policy_change is not None:
        lines.append(
            f"No order to run for {shown(plan.project)}: this change edits the review "
            "policies, which the policies in force must approve."
        )
    elif not plan.orders:
        lines.append(f"No changes. {shown(plan.project)} matches its configuration.")
    else:
        waiting = sum(1 for o in plan.orders if o.gate and o.id not in declines) - len(approved)
        declined = f", {len(declines)} declined" if declines else ""
        done = f", {len(approved)} approved" if approved else ""
        lines.append(
            f"Plan for {shown(plan.project)}: {plural(s['orders'], 'order')} for "
            f"{plural(s['identities'], 'identity', 'identities')}"
            f" ({waiting} awaiting approval{done}{declined}, "
            f"{plural(s['manual_tasks'], 'manual task')})"
        )
    # a change to the review policies first: it says why orders wait for more review
    first = policy_warnings(plan.warnings)
    for w in first:
        lines.append(style(f"warning: {shown(w)}", fg="yellow"))
    if plan.policy_change is not None:
        lines.append(policy_change_line(plan.policy_change, verdicts.get(POLICY_CHANGE), style))
    for group, orders in groups(plan):
        lines.append("")
        lines.append(style(shown(group), bold=True))
        for o in orders:
            m = marker(o)
            line = f"  {style(m, fg=COLOURS[m])} {shown(summary_line(o))}  [{o.id}]"
            if o.id in declines:
                held = "; ".join(d.describe() for d in declines[o.id])
                line += "  " + style(f"✗ {shown(held)}", fg="red")
            elif o.id in approved:
                line += "  " + style(f"✓ {shown(verdicts[o.id].describe())}", fg="green")
            elif o.gate and o.id in verdicts and verdicts[o.id].approvers:
                line += "  " + style(f"⚠ {shown(verdicts[o.id].describe())}", fg="magenta")
            elif o.gate:
                line += "  " + style(f"⚠ {shown(gate_text(o))}", fg="magenta")
            lines.append(line)
    if plan.orphans:
        lines.append("")
        lines.append(
            style(f"Orphaned accounts ({len(plan.orphans)}): no identity owns them", bold=True)
        )
        for x in plan.orphans:
            state = "enabled" if x.enabled else "disabled"
            lines.append(shown(f"  ! {x.source}: {x.name or x.account} ({x.account}, {state})"))
    if plan.adoptions:
        lines.append("")
        lines.append(f"Adopted existing accounts ({len(plan.adoptions)}):")
        for a in plan.adoptions:
            whose = a.identity + kind_label(a.account_kind)
            lines.append(
                shown(f"  = {a.source}: {a.account} → {whose} (matched on {a.matched_on})")
            )
    if plan.orders:
        lines.append("")
        lines.append("By kind:   " + ", ".join(f"{k} {n}" for k, n in s["by_kind"].items()))
        lines.append(
            "By source: " + shown(", ".join(f"{k} {n}" for k, n in s["by_source"].items()))
        )
    for w in plan.warnings:
        if w not in first:
            lines.append(style(f"warning: {shown(w)}", fg="yellow"))
    return "\n".join(lines) + "\n"


def policy_change_line(
    change: PolicyChange, verdict: OrderApproval | None, style: Style = _plain
) -> str:
    """The plan's change to the review policies, as a gated order's line reads: what it
    adds or loosens, and whose approval it has or needs (approved as ``policy-change``)."""
    if verdict is not None and verdict.approved:
        status = style(f"✓ {shown(verdict.describe())}", fg="green")
    else:
        needs = (
            verdict.describe()
            if verdict is not None
            else f"awaiting approval: {change.gate.wanted()}"
        )
        status = style(f"⚠ {shown(needs)}", fg="magenta")
    return f"  ! {shown(change.summary())}  [{POLICY_CHANGE}]  {status}"


def groups(plan: Plan) -> list[tuple[str, list[Order]]]:
    groups: dict[str, list[Order]] = {}
    for o in plan.orders:
        ident = o.change.identity
        if o.action in GROUP_ACTIONS:
            key = GROUPS_LABEL
        elif ident is None:
            key = "(accounts without identity)"
        else:
            meta = (plan.identities or {}).get(ident, {})
            key = f"{ident} ({meta.get('type', '?')}, {meta.get('lifecycle_state', '?')})"
        groups.setdefault(key, []).append(o)
    return sorted(groups.items())
