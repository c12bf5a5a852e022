"""After apply: the snapshot of every source the run changed, so that the next plan
starts from the truth. Per source, the cheapest of three ways that is still the whole
truth:

1. from what the run read back, where the connector's read-backs are complete and the
   run verified every write (``apply/observed.py``; LDAP);
2. the read taken at the start of the run, with the few existing accounts the run acted
   on read again (``apply/refresh.py``; ``Connector.get_accounts``);
3. the whole source read again.

A source that cannot be read keeps the snapshot it had; one found unreachable during the
run is not read at all. The sources read in ways 2 and 3 are read at once, each on a
thread (``apply/reads.py``)."""

from __future__ import annotations

from accesshive.apply.executor import ApplyResult
from accesshive.apply.observed import refreshed, usable
from accesshive.apply.reads import at_once
from accesshive.apply.refresh import Targeted, merged, targeted
from accesshive.apply.stale import Staleness
from accesshive.config import Config
from accesshive.connectors.registry import connector_class
from accesshive.errors import ConnectorError
from accesshive.plan.model import Plan
from accesshive.state.snapshot import SourceSnapshot
from accesshive.store import Store
from accesshive.store.base import now
from accesshive.sync import read_accounts, read_source


def refresh(
    config: Config, store: Store, plan: Plan, result: ApplyResult, staleness: Staleness
) -> None:
    """Store the truth about the sources apply changed (see the module's three ways).
    What must be read of them is read at once (``apply/reads.py``), and stored in the
    order a read one after the other stored it: the targeted sources, then the whole."""
    touched = {o.change.source for o in plan.orders if o.kind != "manual_task"}
    whole: set[str] = set()
    targets: dict[str, tuple[SourceSnapshot, Targeted]] = {}
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
        targets[sid] = (live, target)

    def read(sid: str) -> SourceSnapshot:
        if sid not in targets:
            return read_source(config, sid)
        live, target = targets[sid]
        found = read_accounts(config, sid, target.accounts, target.entitlements)
        return merged(live, found, target, now())

    _store_reads(store, at_once([*sorted(targets), *_readable(config, whole)], read))


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
    that cannot be read now keeps its older snapshot; the next sync fixes it. Read at
    once, stored in sorted order."""
    _store_reads(store, at_once(_readable(config, sources), lambda sid: read_source(config, sid)))


def _readable(config: Config, sources: set[str]) -> list[str]:
    return [sid for sid in sorted(sources) if sid in config.sources]


def _store_reads(store: Store, reads: list[tuple[str, SourceSnapshot | Exception]]) -> None:
    """Store each source read whole; one whose read failed keeps its snapshot (as a
    failed full read: the next sync fixes it); anything else that failed is a bug."""
    for sid, read in reads:
        if isinstance(read, ConnectorError):
            continue
        if isinstance(read, Exception):
            raise read
        store.save_snapshot(sid, read)
