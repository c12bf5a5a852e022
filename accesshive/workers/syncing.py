"""``sync --workers``: the sources are read by ``accesshive worker`` processes, one job
per source, while the sync that queued them waits; each source's snapshot is still
all or nothing.

- A worker reads its source whole with sync's own ``read_source`` (which never returns
  a partial read) and stores the snapshot in one transaction (``save_snapshot``), so a
  source whose read fails, or a worker killed mid-read, stores nothing: the previous
  snapshot stays the latest. A worker killed mid-read has its job taken over (as
  apply's are) and the source is read again from its start.
- What each read found (the sync's ``SourceResult``) is a row of
  ``accesshive_sync_results``, under the sync's id; the sync reads them back once
  every job is over, then audits and verifies the manual tasks as an in-process sync.
- A worker whose checkout is not at the sync's configuration reads nothing and says
  so (a source's definition may differ).

Unlike the in-process sync, the snapshots are stored in the order the reads end, not
in the sorted order (each by the worker that read it): their content and fingerprints
are the same, their ids may not be.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from accesshive.config import Config
from accesshive.errors import AccessHiveError, ConnectorError, StalePlanError, StoreError
from accesshive.store import Store
from accesshive.sync import Progress, SourceResult, read_source, verify_tasks
from accesshive.workers.engine import SYNC_TASK, SyncArgs, make_app, sync_queue

if TYPE_CHECKING:
    from accesshive.workers.worker import WorkerRuntime

TABLE = """
CREATE TABLE IF NOT EXISTS accesshive_sync_results (
    queue text NOT NULL,
    sync text NOT NULL,
    source text NOT NULL,
    result text NOT NULL,
    PRIMARY KEY (queue, sync, source)
)
"""
"""One row per sync and source: its ``SourceResult`` as JSON (created with the queue's)."""


def _no_progress(source: str, done: int, total: int | None) -> None:
    return None


def run_sync_job(runtime: WorkerRuntime, job: SyncArgs) -> None:
    """Read one source and store its snapshot (a worker's job); record what it found."""
    store = runtime.opened()
    source = job["source"]
    result: SourceResult
    try:
        config = runtime.config_for(job["config"])
        snapshot = read_source(config, source)
    except ConnectorError as exc:
        result = SourceResult(source, False, error=exc.message)
    except StalePlanError:  # a source's definition may differ: read nothing
        result = SourceResult(
            source,
            False,
            error=f"the worker's repository {runtime.root} is not at the configuration the "
            f"sync was started from (config {job['config'][:12]}): check out that commit "
            "there and restart the worker",
        )
    else:
        fingerprint = store.save_snapshot(source, snapshot)
        grants = sum(len(a.grants) for a in snapshot.accounts)
        result = SourceResult(source, True, len(snapshot.accounts), grants, fingerprint)
    _execute(
        runtime.url,
        "INSERT INTO accesshive_sync_results (queue, sync, source, result) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (queue, sync, source) DO UPDATE "
        "SET result = excluded.result",
        (sync_queue(store.environment), job["sync"], source, json.dumps(result.to_json())),
    )


def _execute(url: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            cursor = conn.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
    except psycopg.Error as exc:
        raise StoreError(f"cannot keep or read a sync's outcome in the store: {exc}") from exc


def sync_on_workers(
    config: Config,
    store: Store,
    url: str,
    takeover_after: float,
    sources: list[str] | None = None,
    progress: Progress = _no_progress,
    actor: str = "accesshive",
) -> list[SourceResult]:
    """``sync.sync``, with each source read by a worker (see the module docstring)."""
    from accesshive.workers.dispatch import Dispatcher

    wanted = sources or sorted(config.sources)
    unknown = [s for s in wanted if s not in config.sources]
    if unknown:
        raise ConnectorError(unknown[0], "no such source in the configuration")
    previous = {i.source: i.read_at for i in store.snapshot_info()}
    queue = sync_queue(store.environment)
    sync_id = uuid.uuid4().hex

    def found(args: SyncArgs) -> SourceResult | None:
        rows = _execute(
            url,
            "SELECT result FROM accesshive_sync_results WHERE queue = %s AND sync = %s "
            "AND source = %s",
            (queue, sync_id, args["source"]),
        )
        return SourceResult(**json.loads(rows[0][0])) if rows else None

    def done(args: SyncArgs, lock: str | None) -> None:
        result = found(args)
        if result is not None and result.ok:
            progress(result.source, result.accounts, result.accounts)

    dispatcher: Dispatcher[SyncArgs] = Dispatcher(
        make_app(url),
        queue,
        takeover_after,
        done,
        task=SYNC_TASK,
        describe=lambda args: f"the read of source {args['source']}",
        settle=False,  # another sync's reads may be queued: never cancel them
    )
    dispatcher.start()
    failed: dict[str, str] = {}
    try:
        jobs = {
            sid: dispatcher.submit(
                SyncArgs(sync=sync_id, config=config.digest, source=sid),
                f"{queue}/{sid}",  # one read of a source at a time, on however many workers
            )
            for sid in wanted
        }
        for sid, job in jobs.items():
            try:
                job.result()
            except StoreError:
                raise
            except AccessHiveError as exc:
                failed[sid] = f"{exc}; nothing was stored for it, sync again"
    finally:
        dispatcher.stop()
    results: list[SourceResult] = []
    for sid in wanted:
        result = found(SyncArgs(sync=sync_id, config=config.digest, source=sid))
        if result is None:
            error = failed.get(sid, "no worker read it; nothing was stored for it")
            result = SourceResult(sid, False, error=error)
        if not result.ok:
            result = SourceResult(sid, False, error=result.error, kept=previous.get(sid))
        results.append(result)
    _execute(
        url, "DELETE FROM accesshive_sync_results WHERE queue = %s AND sync = %s", (queue, sync_id)
    )
    store.audit(actor, "sync", None, {"results": [r.to_json() for r in results]})
    verify_tasks(store, config)
    return results
