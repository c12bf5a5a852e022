"""After apply: the snapshot of every source the run changed, so that the next plan starts
from the truth. Taken from what the run read back where that is the whole truth
(``apply/observed.py``), else read again from the source."""

from __future__ import annotations

from collections.abc import Mapping

from accesshive.apply.executor import ApplyResult
from accesshive.apply.observed import refreshed, usable
from accesshive.config import Config
from accesshive.connectors.registry import connector_class
from accesshive.errors import ConnectorError
from accesshive.plan.model import Plan
from accesshive.state.snapshot import SourceSnapshot
from accesshive.store import Store
from accesshive.store.base import now
from accesshive.sync import read_source


def refresh(
    config: Config,
    store: Store,
    plan: Plan,
    skip: set[str],
    result: ApplyResult,
    live: Mapping[str, SourceSnapshot],
) -> None:
    """Store the truth about the sources apply changed, so the next plan starts from it
    (not those found unreachable during the run: they keep their snapshot). Where the
    run's read-backs give it (``apply/observed.py``: ``live``, the read at the start of
    the run, with every account the run wrote as it read it back), that is stored;
    the other sources are read again, whole."""
    touched = {o.change.source for o in plan.orders if o.kind != "manual_task"} - skip
    for sid in sorted(touched):
        if sid not in live or not _read_back_whole(config, sid):
            continue
        if live[sid].groups or not usable(
            sid, plan.orders, result.states, result.acted_on, result.observed
        ):
            continue
        store.save_snapshot(sid, refreshed(live[sid], sid, result.observed, now()))
        touched.discard(sid)
    read_into(config, store, touched)


def _read_back_whole(config: Config, sid: str) -> bool:
    """Whether the source's connector reads an account back as its read gives it, and
    the source manages no group (a group's members are not in an account's read-back)."""
    source = config.sources.get(sid)
    if source is None or any(e.managed for e in source.entitlements.values()):
        return False
    cls = connector_class(source.kind)
    return cls is not None and cls.capabilities.read_back_complete


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
