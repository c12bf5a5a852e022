"""Sync: read every source through its connector and store a snapshot of each.

Reads fail closed. A source that cannot be reached, or whose read breaks
part-way (a failed page, a count that does not match what the target
announced), fails alone with a clear message, and its previous complete
snapshot stays the latest: a partial read is never stored as if the missing
accounts were gone. Open manual tasks are verified against the new snapshots.

Sources are read at once, each on a thread of its own (``readers`` at a time; one
source alone is read on the caller's thread): a
target's round trips, not accesshive's CPU, are what a sync waits for. The snapshots are
stored one after the other in the order a sequential sync stores them (sorted source
ids), each when its read has ended whole, so the store ends up the same, and each
source's snapshot is still all or nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from accesshive.config import Config
from accesshive.connectors.registry import connector_for
from accesshive.errors import ConnectorError, VaultError
from accesshive.state.snapshot import SnapshotAccount, SnapshotGroup, SourceSnapshot
from accesshive.store import Store
from accesshive.store.base import now
from accesshive.tasks import mark_all_done, task_satisfied

Progress = Callable[[str, int, int | None], None]
"""(source, accounts read so far, total announced or None)."""

READERS = 8
"""Sources read at once by one sync."""


@dataclass(frozen=True)
class SourceResult:
    source: str
    ok: bool
    accounts: int = 0
    grants: int = 0
    fingerprint: str | None = None
    error: str | None = None
    kept: str | None = None
    """When the read failed: the read_at of the previous snapshot that stays in use."""

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def _no_progress(source: str, done: int, total: int | None) -> None:
    return None


def sync(
    config: Config,
    store: Store,
    sources: list[str] | None = None,
    progress: Progress = _no_progress,
    actor: str = "accesshive",
    readers: int = READERS,
) -> list[SourceResult]:
    """Read ``sources`` (all by default) and store a snapshot of each that was read
    whole; ``readers``: how many are read at once (1: one after the other)."""
    wanted = sources or sorted(config.sources)
    unknown = [s for s in wanted if s not in config.sources]
    if unknown:
        raise ConnectorError(unknown[0], "no such source in the configuration")
    previous = {i.source: i.read_at for i in store.snapshot_info()}
    results: list[SourceResult] = []
    lock = threading.Lock()

    def told(source: str, done: int, total: int | None) -> None:
        with lock:  # one reader's progress at a time for whoever shows it
            progress(source, done, total)

    # one source (or readers=1): read on this thread, as progress callers may expect
    parallel = readers > 1 and len(wanted) > 1
    with ThreadPoolExecutor(max_workers=min(readers, len(wanted)) if parallel else 1) as pool:
        reads: dict[str, Future[SourceSnapshot]] = {
            sid: pool.submit(read_source, config, sid, told) for sid in wanted if parallel
        }
        try:
            for sid in wanted:  # stored in the sequential order, each read whole
                try:
                    snap = reads[sid].result() if parallel else read_source(config, sid, progress)
                except ConnectorError as exc:
                    results.append(
                        SourceResult(sid, False, error=exc.message, kept=previous.get(sid))
                    )
                    continue
                fingerprint = store.save_snapshot(sid, snap)
                grants = sum(len(a.grants) for a in snap.accounts)
                results.append(SourceResult(sid, True, len(snap.accounts), grants, fingerprint))
        finally:
            for read in reads.values():  # a bug in one read: the reads not started never start
                read.cancel()
    store.audit(actor, "sync", None, {"results": [r.to_json() for r in results]})
    verify_tasks(store, config)
    return results


def read_source(
    config: Config, source_id: str, progress: Progress = _no_progress
) -> SourceSnapshot:
    """Read one source whole, or raise ``ConnectorError``; never a partial snapshot."""
    if config.sources[source_id].kind == "vault":
        from accesshive.vault import read_vault  # the vault is read by itself, not a connector

        try:
            return read_vault(config, source_id)
        except (VaultError, OSError, sqlite3.Error) as exc:
            raise ConnectorError(source_id, f"cannot read the vault: {exc}") from exc
    accounts: list[SnapshotAccount] = []
    groups: list[SnapshotGroup] = []
    announced: int | None = None
    read_at = now()
    managed = any(e.managed for e in config.sources[source_id].entitlements.values())
    with connector_for(config, source_id) as connector:
        try:
            if managed:  # only then: a source without managed groups reads as it always did
                groups = connector.read_groups()
            for page in connector.read():
                accounts.extend(page.accounts)
                if page.total is not None:
                    if announced is not None and page.total != announced:
                        raise connector.error(
                            f"the target's account count changed during the read "
                            f"({announced} then {page.total}); nothing was stored, sync again"
                        )
                    announced = page.total
                progress(source_id, len(accounts), announced)
        except ConnectorError:
            raise
        except OSError as exc:
            raise connector.error(f"read failed: {exc}", retryable=True) from exc
    if announced is not None and announced != len(accounts):
        raise ConnectorError(
            source_id,
            f"the target announced {announced} accounts but {len(accounts)} were read; "
            "nothing was stored (the previous snapshot stays in use)",
        )
    ids = [a.external_id for a in accounts]
    if len(set(ids)) != len(ids):
        raise ConnectorError(source_id, "the read returned an account twice; nothing was stored")
    return SourceSnapshot(accounts=accounts, groups=groups, read_at=read_at)


def read_accounts(
    config: Config, source_id: str, external_ids: Collection[str], entitlements: Collection[str]
) -> dict[str, SnapshotAccount]:
    """Some accounts of one source as it holds them now (``Connector.get_accounts``: their
    grants exact for ``entitlements``), or ``ConnectorError``."""
    with connector_for(config, source_id) as connector:
        try:
            return connector.get_accounts(sorted(external_ids), sorted(entitlements))
        except OSError as exc:
            raise connector.error(f"read failed: {exc}", retryable=True) from exc


def verify_tasks(store: Store, config: Config | None = None) -> list[str]:
    """Mark open manual tasks verified when the latest snapshot shows them done (with
    ``config``, an account of another kind than the task's never counts), and their
    orders verified where they were handed over (``tasks.mark_done``)."""
    snapshot = store.latest_snapshot()
    seen: list[str] = []
    for task in store.tasks("open"):
        source = config.sources.get(task.source) if config is not None else None
        if task.source in snapshot.sources and task_satisfied(
            task.content, snapshot.source(task.source), source
        ):
            seen.append(task.id)
    return [t.id for t, marked in mark_all_done(store, seen, "sync", "task_verified") if marked]
