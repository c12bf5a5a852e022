"""The report operation: sync (unless told not to), then drift, orphans, health and stale
items of one environment, with the totals kept for the next report's comparison."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from accesshive.operations._common import StoreRef, latest_applied, load_and_expand
from accesshive.plan.build import make_plan
from accesshive.reports.health import Report, build_report
from accesshive.sync import SourceResult, sync


def report_repository(
    root: Path,
    store: StoreRef,
    today: dt.date,
    sync_first: bool = True,
    stale_days: int = 7,
    actor: str = "accesshive",
) -> tuple[Report, list[SourceResult]]:
    """Sync (unless told not to), then report drift, orphans, health and stale items."""
    config, desired = load_and_expand(root, today, store.environment)
    with store.open(root) as opened:
        synced = sync(config, opened, None, actor=actor) if sync_first else []
        snapshot = opened.latest_snapshot()
        plan = make_plan(config, desired, snapshot, today, allow_mass_changes=True)
        latest_plan, states = latest_applied(opened)
        first_seen = {
            (sid, ext): at for sid in config.sources for ext, at in opened.first_seen(sid).items()
        }
        report = build_report(
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
            previous=opened.previous_report_totals(),
            name_attributes={sid: s.account.name_attribute for sid, s in config.sources.items()},
        )
        opened.save_report_totals(report.totals)
        opened.audit(actor, "report", None, {"totals": report.totals})
    return report, synced
