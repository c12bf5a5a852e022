"""Which notification events each command raises, and sending them.

The commands call these after their own work is recorded: a notification is about
what happened, and its delivery (or failure to deliver) never changes it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Mapping

from accesshive.apply.executor import ApplyResult
from accesshive.approvals.operations import check as check_approvals
from accesshive.approvals.operations import check_declines
from accesshive.config import Config
from accesshive.notify import Event, Outcome, notify
from accesshive.notify import events as ev
from accesshive.operations._common import stored_plan
from accesshive.plan.model import Plan
from accesshive.plan.states import DONE, FAILED
from accesshive.reports.health import Report
from accesshive.store import Store
from accesshive.sync import SourceResult


def _send(config: Config, store: Store, events: list[Event], actor: str) -> list[Outcome]:
    policy = config.policies.notifications
    if not policy.rules:
        return []
    return notify(store, policy, events, config.root, dict(os.environ), actor)


def after_apply(
    config: Config, store: Store, plan: Plan, result: ApplyResult, actor: str
) -> list[Outcome]:
    """An apply that failed, and each source found down during it."""
    events: list[Event] = []
    if result.failed:
        failed = {
            oid: result.messages.get(oid, str(state))
            for oid, state in result.states.items()
            if state in FAILED
        }
        counts = Counter(str(s) for s in result.states.values())
        events.append(
            ev.apply_failed(config.environment, plan.digest, result.run_id, counts, failed)
        )
    for source, message in sorted(result.unreachable.items()):
        events.append(
            ev.source_down(config.environment, source, message, f"apply run {result.run_id}")
        )
    return _send(config, store, events, actor)


def after_report(
    config: Config,
    store: Store,
    report: Report,
    synced: list[SourceResult],
    waiting: Mapping[str, Mapping[str, list[str]]],
    actor: str,
) -> list[Outcome]:
    """The nightly report's findings: drift, orphans, sources that could not be read,
    and orders waiting for review too long (plan digest → order → reviewer groups)."""
    events: list[Event] = []
    drifted = {i.identity: list(i.differences) for i in report.identities if i.differences}
    if drifted:
        events.append(ev.drift_found(config.environment, drifted))
    if report.orphans:
        events.append(
            ev.orphans_found(
                config.environment, [(o.source, o.account, o.name) for o in report.orphans]
            )
        )
    for result in synced:
        if not result.ok:
            events.append(
                ev.source_down(
                    config.environment, result.source, result.error or "", f"sync {report.date}"
                )
            )
    hours = config.policies.notifications.review_waiting_hours
    for plan_digest, orders in sorted(waiting.items()):
        events.append(ev.review_waiting(config.environment, plan_digest, orders, hours))
    return _send(config, store, events, actor)


def after_leaver(
    config: Config, store: Store, source: str, user: Mapping[str, object], identity: str
) -> list[Outcome]:
    """An identity provider deactivated someone (told whatever the leaver policy runs)."""
    meta = user.get("meta")
    at = meta.get("lastModified") if isinstance(meta, dict) else None
    record = str(user.get("id") or identity)
    event = ev.idp_leaver(
        config.environment, source, record, identity, str(at or dt.datetime.now(dt.UTC))
    )
    return _send(config, store, [event], f"scim:{source}")


def waiting_for_review(
    config: Config, store: Store, now: dt.datetime
) -> dict[str, dict[str, list[str]]]:
    """Plan digest → its gated orders neither approved, declined nor done, with the
    reviewer groups that can approve each, for the plans of the current configuration
    made more than ``review_waiting_hours`` before ``now``."""
    hours = config.policies.notifications.review_waiting_hours
    out: dict[str, dict[str, list[str]]] = {}
    for digest, created_at in store.plans_for_config(config.digest):
        if _age_hours(created_at, now) < hours:
            continue
        plan = stored_plan(store, digest)
        if plan is None:
            continue
        states = store.order_states(digest)
        done = {oid for oid, event in states.items() if event.state in DONE}
        declined = set(check_declines(config, plan, store))
        waiting = {
            oid: list(verdict.groups)
            for oid, verdict in sorted(check_approvals(config, plan, store).items())
            if not verdict.approved and oid not in declined and oid not in done
        }
        if waiting:
            out[digest] = waiting
    return out


def _age_hours(created_at: str, now: dt.datetime) -> float:
    made = dt.datetime.fromisoformat(created_at)
    if made.tzinfo is None:
        made = made.replace(tzinfo=dt.UTC)
    return (now - made).total_seconds() / 3600
