"""After apply: the snapshots of the sources a run changed, read again so that the next
plan starts from the truth. What to read (a few accounts, or the whole source) is decided
by ``apply.refresh``; the reads are ``sync``'s; this module only puts them together and
stores them. A source that cannot be read keeps the snapshot it had."""

from __future__ import annotations

from accesshive.apply.executor import ApplyResult
from accesshive.apply.refresh import merged, targeted
from accesshive.apply.stale import Staleness
from accesshive.config import Config
from accesshive.errors import ConnectorError
from accesshive.plan.model import Plan
from accesshive.store import Store
from accesshive.store.base import now
from accesshive.sync import read_accounts, read_source


def refresh(
    config: Config, store: Store, plan: Plan, result: ApplyResult, staleness: Staleness
) -> None:
    """Read back the sources apply changed, so the next plan starts from the truth (not
    those found unreachable during the run: they keep their snapshot). Where the run
    acted on a few existing accounts of a source read live before it, only those are
    read again and put into that snapshot (``apply.refresh``); else the source is read
    whole."""
    touched = {o.change.source for o in plan.orders if o.kind != "manual_task"}
    whole: set[str] = set()
    for sid in sorted(touched - set(result.unreachable)):
        live = staleness.live.get(sid)
        target = None
        if live is not None:
            target = targeted(plan, result.states, sid, live, staleness.accounts)
        if live is None or target is None:
            whole.add(sid)
            continue
        if not target.accounts:
            continue  # nothing of it acted on: the live snapshot, stored before the run, stands
        try:
            read = read_accounts(config, sid, target.accounts, target.entitlements)
        except ConnectorError:
            continue  # as a failed full read: the live snapshot stays
        store.save_snapshot(sid, merged(live, read, target, now()))
    read_into(config, store, whole)


def read_into(config: Config, store: Store, sources: set[str]) -> None:
    """Read ``sources`` (vaults aside) and store what they hold. A source that cannot be
    read now keeps its older snapshot; the next sync fixes it."""
    for sid in sorted(sources):
        source = config.sources.get(sid)
        if source is None or source.kind == "vault":
            continue
        try:
            store.save_snapshot(sid, read_source(config, sid))
        except ConnectorError:
            continue
