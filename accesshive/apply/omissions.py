"""What a plan file leaves out: orders and dependencies planning gives that it lacks.

Why apart from ``stale.py``, which checks each order the file holds: a forger who can
edit the plan file (and recompute its unkeyed digest) can also delete from it. Without
this check, a plan with a leaver's revoke or badge task deleted applied as
``complete``, and the run even cancelled the leaver's open task as no longer needed;
one with its dependencies emptied ran grants before their accounts existed.

So the plan must hold every order the re-plan gives, cut as the plan was cut (the
identities of ``plan.scope``, for ``retry``; a leaver's immediate orders), on each
source whose snapshot is still the one the plan was made from: one it lacks there is
forged. On a source that changed since, it is new work (the plan is stale), whether
or not the plan has orders left on it. Orders
done in earlier runs of the plan stay in its file, so they are never found missing.

And the dependencies among the orders still to run must be the re-plan's: an edge
between two orders of unchanged sources is fixed by the two orders alone
(``plan/graph.py``), so one missing or added there is forged. Where either source
changed, the re-plan may legitimately no longer need an edge the plan has (it only
holds an order back longer); one the plan lacks makes it stale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from accesshive.plan.model import Plan
from accesshive.plan.orders import Order


@dataclass
class Omissions:
    forged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)
    """The sources of the new work in ``problems``: changed since the plan."""


def as_cut(plan: Plan, part: Callable[[Plan], Plan] | None) -> Callable[[Plan], Plan]:
    """How the re-plan is cut to what ``plan`` must hold: ``part`` when the caller made
    the plan with it (a leaver's immediate orders); else the identities of the plan's
    scope (``retry``); else the whole re-plan. Never from the file alone beyond its scope:
    a scope only narrows which identities the run touches (and whose tasks it may cancel)."""
    if part is not None:
        return part
    scope = plan.scope
    if scope is None:
        return lambda whole: whole
    return lambda whole: whole.only(lambda o: o.change.identity in scope, scope)


def omissions(
    plan: Plan,
    expected: tuple[Order, ...],
    done: set[str],
    unchanged: Callable[[str], bool],
    unreadable: Mapping[str, str],
) -> Omissions:
    """``expected``: the re-plan's orders, cut as the plan was. ``done``: the plan's
    orders done by earlier runs, or no longer needed (``inactive``): their edges no
    longer hold anything back, so they are not compared. ``unchanged(source)``:
    its snapshot (read now, else stored) is the plan's: what the plan lacks there is
    forged; elsewhere it is new work, unless the source could not be read (nothing to
    compare with). Sources the plan has no order left on count too: a plan with all of
    a source's orders deleted (and its fingerprint edited) must not pass."""
    found = Omissions()
    saved = {o.id for o in plan.orders}
    for order in expected:
        if order.id in saved:
            continue
        source = order.change.source
        if unchanged(source):
            found.forged.append(
                f"{_named(order)} is missing: planning gives it for this repository and "
                "snapshot, and the plan does not hold it"
            )
        elif source not in unreadable:
            found.changed.add(source)
            found.problems.append(
                f"new work on {source} not in the plan: {order.action} for {_who(order)}"
            )
    by_id = {o.id: o for o in expected}
    remaining = {o.id: o for o in plan.orders if o.id not in done}
    for order in remaining.values():
        now = by_id.get(order.id)
        if now is None:
            continue  # not planned any more: inactive, or forged (``stale.py``)
        has = set(order.depends_on) & remaining.keys()
        wants = set(now.depends_on) & remaining.keys()
        for dep in sorted(has ^ wants):
            other = remaining[dep]
            fixed = unchanged(order.change.source) and unchanged(other.change.source)
            if dep in wants and fixed:
                found.forged.append(
                    f"{_named(order)} does not wait for {_named(other)}, as planning makes it wait"
                )
            elif dep in wants:
                found.problems.append(
                    f"{_named(order)} would now wait for {_named(other)}, which the plan "
                    "does not make it wait for"
                )
            elif fixed:
                found.forged.append(
                    f"{_named(order)} waits for {_named(other)}, which planning does not "
                    "make it wait for"
                )
    return found


def _who(order: Order) -> str:
    return order.change.identity or order.change.account or "no identity"


def _named(order: Order) -> str:
    return f"order {order.id} ({order.action} on {order.change.source}, for {_who(order)})"
