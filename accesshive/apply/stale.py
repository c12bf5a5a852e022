"""Is a saved plan still right for the targets? Checked just before apply.

The sources the remaining orders touch are read live. Where a source's
fingerprint still matches the plan's, nothing changed. Where it does not, the
plan is recomputed against the live state and compared order by order:
- an order that is no longer needed becomes ``inactive`` when reached;
- an order whose substance changed, or work the saved plan does not contain,
  makes the plan stale: apply refuses and lists what changed.
Changes that leave the orders as they were (someone else's edits elsewhere,
or our own earlier partial run) do not stop apply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accesshive.config import Config
from accesshive.desired import DesiredState
from accesshive.plan.build import make_plan
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.state.snapshot import Snapshot, SourceSnapshot
from accesshive.sync import read_source


@dataclass
class Staleness:
    changed_sources: list[str] = field(default_factory=list)
    inactive: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    live: dict[str, SourceSnapshot] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    """order id → the account it acts on, as the live state shows it (for orders whose
    account was created by an earlier, interrupted run)."""


def _substance(order: Order) -> dict[str, Any]:
    """What an order does, without what only the moment of planning decided."""
    c = order.change
    attrs: Any = (
        {k: v["to"] for k, v in c.attributes.items()}
        if c.action == "update_account"
        else dict(c.attributes)
    )
    return {
        "kind": order.kind,
        "action": c.action,
        "source": c.source,
        "identity": c.identity,
        "entitlement": c.entitlement,
        "attributes": attrs,
    }


def check_stale(
    config: Config,
    desired: DesiredState,
    plan: Plan,
    done: set[str],
    stored: Callable[[], Snapshot],
    today: dt.date,
) -> Staleness:
    """``stored``: reads the stored snapshot, needed (and read) only when a source changed
    since the plan: on a large org it is the biggest thing the store holds."""
    result = Staleness()
    remaining = [o for o in plan.orders if o.id not in done]
    touched = sorted({o.change.source for o in remaining if _readable(config, o.change.source)})
    for sid in touched:
        live = read_source(config, sid)
        result.live[sid] = live
        if live.fingerprint() != plan.fingerprints.get(sid):
            result.changed_sources.append(sid)
    if not result.changed_sources:
        return result
    sources = {**stored().sources, **result.live}
    fresh = make_plan(
        config,
        desired,
        Snapshot(sources=sources),
        today,
        allow_mass_changes=True,
        fingerprints={},  # only its orders are compared with the plan's
    )
    fresh_by_id = {o.id: o for o in fresh.orders}
    saved_ids = {o.id for o in plan.orders}
    for order in remaining:
        if order.change.source not in result.changed_sources:
            continue
        now = fresh_by_id.get(order.id)
        if now is not None and now.change.account:
            result.accounts[order.id] = now.change.account
        if now is None:
            result.inactive.add(order.id)
        elif _substance(now) != _substance(order):
            result.problems.append(
                f"order {order.id} ({order.action} on {order.change.source}) would now be "
                f"different: {_substance(order)} → {_substance(now)}"
            )
    for oid, order in fresh_by_id.items():
        if oid not in saved_ids and order.change.source in result.changed_sources:
            who = order.change.identity or order.change.account
            result.problems.append(
                f"new work on {order.change.source} not in the plan: {order.action} for {who}"
            )
    return result


def _readable(config: Config, sid: str) -> bool:
    source = config.sources.get(sid)
    return (
        source is not None
        and source.kind != "vault"
        and source.effective_provisioning == "automatic"
    )
