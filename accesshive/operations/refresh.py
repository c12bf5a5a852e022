"""After apply: the snapshot of every source the run changed, so that the next plan
starts from the truth. Per source, the cheapest of three ways that is still the whole
truth:

1. from what the run read back, where the connector's read-backs are complete and the
   run verified every write (``apply/observed.py``; LDAP);
2. the read taken at the start of the run, with the few existing accounts the run acted
   on read again (``apply/refresh.py``; ``Connector.get_accounts``);
3. the whole source read again.

A source that cannot be read keeps the snapshot it had; one found unreachable during the
run is not read at all."""

from __future__ import annotations

from accesshive.apply.executor import ApplyResult
from accesshive.apply.observed import refreshed, usable
from accesshive.apply.refresh import merged, targeted
from accesshive.apply.stale import Staleness
from accesshive.config import Config
from accesshive.connectors.registry import connector_class
from accesshive.errors import ConnectorError
from accesshive.plan.model import Plan
from accesshive.store import Store
from accesshive.store.base import now
from accesshive.sync import read_accounts, read_source


def refresh(
    config: Config, store: Store, plan: Plan, result: ApplyResult, staleness: Staleness
) -> None:
    """Store the truth about the sources apply changed (see the module's three ways)."""
    touched = {o.change.source for o in plan.orders if o.kind != "manual_task"}
    whole: set[str] = set()
    for sid in sorted(touched - set(result.unreachable)):
        live = staleness.live.get(sid)
        if live is None:
            whole.add(sid)
            continue
        if (
            _read_back_whole(config, sid)
            and not live.groups
            and usable(sid, plan.orders, result.states, result.acted_on, result.observed)
        ):
            store.save_snapshot(sid, refreshed(live, sid, result.observed, now()))
            continue
        target = targeted(plan, result.states, sid, live, staleness.accounts)
        if target is None:
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


def _read_back_whole(config: Config, sid: str) -> bool:
    """Whether the source's connector reads an account back as its read gives it, and
    the source manages no group (a group's members are not in an account's read-back)."""
    source = config.sources.get(sid)
    if source is None or any(e.managed for e in source.entitlements.values()):
        return False
    cls = connector_class(source.kind)
    return cls is not None and cls.capabilities.read_back_complete


def read_into(config: Config, store: Store, sources: set[str]) -> None:
    """Read ``sources`` and store what they hold (the vault too: else the next plan,
    made without a sync, would store again a secret the run has just stored). A source
    that cannot be read now keeps its older snapshot; the next sync fixes it."""
    for sid in sorted(sources):
        if sid not in config.sources:
            continue
        try:
            store.save_snapshot(sid, read_source(config, sid))
        except ConnectorError:
            continue
