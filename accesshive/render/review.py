"""What the PR comment says about the review of gated orders, and how orders are counted.

Why a module of its own: the summary line, the tables and each identity's section all
ask the same questions of an order (is it waiting for review, approved, declined, and
by whom; does it add, change or remove) and must answer them the same way, or the
headline would count an order the tables list differently. The answers come from the
approvals and declines given to ``render_markdown``; nothing here reads a file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from accesshive.approvals.declines import Decline
from accesshive.approvals.model import Gated, OrderApproval
from accesshive.plan.kinds import ADDING, CHANGING, REMOVING
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.render.describe import plural
from accesshive.render.markup import md

CATEGORIES = ("add", "change", "remove", "manual")
"""What an order does, for counting: every order is exactly one of these."""


def category(order: Order) -> str:
    if order.kind == "manual_task":
        return "manual"
    if order.action in ADDING:
        return "add"
    if order.action in CHANGING:
        return "change"
    if order.action in REMOVING:  # pragma: no branch - kinds.py checks the three cover all
        return "remove"
    raise AssertionError(order.action)  # pragma: no cover


def counts(orders: Iterable[Order]) -> Counter[str]:
    return Counter(category(o) for o in orders)


def describe_counts(c: Counter[str], waiting: int) -> str:
    words = {"add": "to add", "change": "to change", "remove": "to remove"}
    parts = [f"{c[k]:,} {words[k]}" for k in ("add", "change", "remove") if c[k]]
    if c["manual"]:
        parts.append(plural(c["manual"], "manual task"))
    if waiting:
        parts.append(f"{waiting:,} waiting for review")
    return ", ".join(parts)


@dataclass(frozen=True)
class Review:
    """What the comment says about one gated order's review."""

    approvals: Mapping[str, OrderApproval] | None
    declines: Mapping[str, list[Decline]]

    def declined(self, order: Order | Gated) -> bool:
        return bool(self.declines.get(order.id))

    def decliners(self, order: Order) -> str:
        return ", ".join(md(d.reviewer) for d in self.declines.get(order.id, []))

    def reasons(self, order: Order) -> str:
        return "; ".join(md(d.reason) for d in self.declines.get(order.id, []))

    def approved(self, order: Order | Gated) -> bool:
        v = self.approvals.get(order.id) if self.approvals is not None else None
        return v is not None and v.approved

    def waiting(self, order: Order | Gated) -> bool:
        """Gated, not approved, and not declined (a declined order waits for nothing)."""
        return order.gate is not None and not self.approved(order) and not self.declined(order)

    def missing(self, order: Order | Gated) -> str:
        assert order.gate is not None
        v = self.approvals.get(order.id) if self.approvals is not None else None
        several = bool(order.gate.requires)  # each rule's need is its own
        if v is None:
            if several:
                return order.gate.wanted("approval(s)")
            return f"{order.gate.quorum} approval{'s' if order.gate.quorum != 1 else ''}"
        if v.approved:
            return "nothing: approved"
        if several:
            return " and ".join(f"{n} from {', '.join(need.groups)}" for need, n in v.short())
        return f"{v.missing} approval{'s' if v.missing != 1 else ''}"

    def approvers(self, order: Order | Gated) -> str:
        v = self.approvals.get(order.id) if self.approvals is not None else None
        if v is None:
            return ""
        carried = dict(v.carried)
        text = (
            ", ".join(
                md(f"{a} (carried from plan {carried[a][:12]})" if a in carried else a)
                for a in v.approvers
            )
            or "nobody yet"
        )
        if v.rejected:
            text += "; not counted: " + "; ".join(f"{md(r)} ({md(why)})" for r, why in v.rejected)
        return text

    def state(self, order: Order) -> str:
        if order.gate is None:
            return ""
        groups = ", ".join(order.gate.reviewer_groups)
        if self.approved(order):
            return f"✅ approved ({md(order.gate.wanted())})"
        if order.gate.requires:
            return f"⚠️ waiting for review: {md(self.missing(order))}"
        return f"⚠️ waiting for review: {self.missing(order)} from {md(groups)}"


def summary_text(plan: Plan, review: Review) -> str:
    c = counts(plan.orders)
    waiting = sum(1 for o in plan.orders if review.waiting(o))
    text = (
        f"Plan: {c['add']:,} to add, {c['change']:,} to change, {c['remove']:,} to remove, "
        f"{plural(c['manual'], 'manual task')}, {waiting:,} waiting for review"
    )
    # a declined order is not applied, whoever else approved it: counted once, as declined
    approved = sum(
        1 for o in plan.orders if o.gate and review.approved(o) and not review.declined(o)
    )
    if approved:
        text += f", {approved:,} approved"
    declined = sum(1 for o in plan.orders if review.declined(o))
    if declined:
        text += f", {declined:,} declined"
    change = plan.policy_change
    if change is not None:
        gated = Gated.of_change(change)
        said = "waiting for review" if review.waiting(gated) else "approved"
        text += f"; a change to the review policies in force, {said}"
    return text
