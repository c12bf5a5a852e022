"""The report operation: sync (unless told not to), then drift, orphans, health and stale
items of one environment, with the totals kept for the next report's comparison (once per
snapshot: a re-rendering of a snapshot already reported compares as its first report did,
``reports/trend.py``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from accesshive.notify import Outcome
from accesshive.operations._common import Loaded, StoreRef, latest_applied, load_and_expand
from accesshive.operations.notifying import after_report, waiting_for_review
from accesshive.operations.planning import manual_task_records, without_done_tasks
from accesshive.plan.build import make_plan
from accesshive.plan.diff import diff
from accesshive.plan.gates import guarded
from accesshive.plan.model import Plan
from accesshive.policies_in_force import differing
from accesshive.reports import trend
from accesshive.reports.health import Report, build_report
from accesshive.state.snapshot import Snapshot
from accesshive.store import Store
from accesshive.sync import SourceResult, sync


def report_repository(
    root: Path,
    store: StoreRef,
    today: dt.date,
    sync_first: bool = True,
    stale_days: int = 7,
    actor: str = "accesshive",
    now: dt.datetime | None = None,
) -> tuple[Report, list[SourceResult], list[Outcome]]:
    """Sync (unless told not to), then report drift, orphans, health and stale items;
    send what the ``notifications`` policy asks for (with the orders waiting for review
    too long at ``now``)."""
    config, desired = load_and_expand(root, today, store.environment)
    with store.open(root) as opened:
        synced = sync(config, opened, None, actor=actor) if sync_first else []
        compared = key, previous, again = _trend(opened)
        report = health_report((config, desired), opened, today, stale_days, compared=compared)
        if not again:  # the first report of this snapshot: what the next one compares with
            opened.save_report_totals(trend.record(report.totals, key, previous))
        opened.audit(actor, "report", None, {"totals": report.totals})
        waiting = (
            waiting_for_review(config, opened, now or dt.datetime.now(dt.UTC))
            if config.policies.notifications.rules
            else {}
        )
        sent = after_report(config, opened, report, synced, waiting, actor)
    return report, synced, sent


Compared = tuple[str, trend.Previous | None, bool]
"""The latest snapshot's key, the report a report of it compares with, and whether one of
it was recorded already."""


def _trend(opened: Store) -> Compared:
    """The store's latest snapshot's key, the report a report of it compares with, and
    whether one of it was recorded already (``reports/trend.py``)."""
    key = trend.snapshot_key(opened.snapshot_info())
    previous, again = trend.compared_with(opened.previous_report_totals(), key)
    return key, previous, again


def health_report(
    loaded: Loaded,
    opened: Store,
    today: dt.date,
    stale_days: int = 7,
    plan: Plan | None = None,
    snapshot: Snapshot | None = None,
    compared: Compared | None = None,
) -> Report:
    """The report of what the store holds now, writing nothing: no sync, no totals kept,
    no audit entry (the console reads it on every page; ``report`` records it).
    ``plan``: the plan of ``loaded`` against the store's latest snapshots, when the caller
    has made it already (the console: the one its statuses come from), and ``snapshot``
    the store's latest snapshot, when the caller has read it already; ``compared`` what
    the trend compares with, likewise (``_trend``)."""
    config, desired = loaded
    if snapshot is None:
        snapshot = opened.latest_snapshot()
    if plan is None:  # as `plan` makes it: a manual task marked done is not asked again
        found = without_done_tasks(opened, config, snapshot, diff(config, desired, snapshot, today))
        plan = guarded(
            make_plan(
                config,
                desired,
                snapshot,
                today,
                allow_mass_changes=True,
                found=found,
                known_tasks=manual_task_records(opened, config, desired),
            ),
            config,
            differing(config, opened.policies_in_force()),
            opened.environment,
        )
    latest_plan, states = latest_applied(opened)
    first_seen = {
        (sid, ext): at for sid in config.sources for ext, at in opened.first_seen(sid).items()
    }
    return build_report(
        project=config.project.name,
        environment=config.environment,
        desired=desired,
        snapshot=snapshot,
        plan=plan,
        latest_states=states,
        latest_plan=latest_plan,
        tasks=opened.tasks("open"),
        first_seen=first_seen,
        rotation_days={iid: c.rotate_every_days for iid, c in desired.credentials.items()},
        today=today,
        stale_days=stale_days,
        previous=(compared or _trend(opened))[1],
        name_attributes={sid: s.account.name_attribute for sid, s in config.sources.items()},
        sources=config.sources,
    )
