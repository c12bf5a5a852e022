"""Operations on the state store of one environment: sync the sources into it, describe
it, break a stale lock, list and complete manual tasks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from accesshive.operations._common import StoreRef, stored_plan
from accesshive.pipeline import load_config
from accesshive.store import LockInfo, SnapshotInfo, Task
from accesshive.sync import Progress, SourceResult, sync
from accesshive.tasks import mark_done

if TYPE_CHECKING:
    from accesshive.workers.engine import Workers


def sync_repository(
    root: Path,
    store: StoreRef,
    sources: list[str] | None,
    progress: Progress,
    actor: str,
    workers: Workers | None = None,
) -> list[SourceResult]:
    """Sync in this process, or (``workers``) with each source read by an ``accesshive
    worker`` (``workers/syncing.py``), the store being the shared PostgreSQL one."""
    config = load_config(root, store.environment)
    if workers is None:
        with store.open(root) as opened:
            return sync(config, opened, sources, progress, actor)
    from accesshive.workers.engine import prepare_queue
    from accesshive.workers.syncing import sync_on_workers

    url = prepare_queue(store.location(root))
    with store.open(root) as opened:
        return sync_on_workers(
            config, opened, url, workers.takeover_after, sources, progress, actor
        )


@dataclass(frozen=True)
class StateReport:
    location: str
    environment: str
    schema_version: int
    lock: LockInfo | None
    snapshots: list[SnapshotInfo]
    open_tasks: int
    runs: list[dict[str, object]]

    def to_json(self) -> dict[str, object]:
        return {
            "location": self.location,
            "environment": self.environment,
            "schema_version": self.schema_version,
            "lock": self.lock.__dict__ if self.lock else None,
            "snapshots": [s.__dict__ for s in self.snapshots],
            "open_tasks": self.open_tasks,
            "runs": self.runs,
        }


def state_report(root: Path, store: StoreRef) -> StateReport:
    with store.open(root) as opened:
        return StateReport(
            location=opened.location,
            environment=opened.environment,
            schema_version=opened.schema_version(),
            lock=opened.lock_info(),
            snapshots=opened.snapshot_info(),
            open_tasks=len(opened.tasks("open")),
            runs=opened.runs()[-5:],
        )


def unlock(root: Path, store: StoreRef, by: str) -> LockInfo | None:
    with store.open(root) as opened:
        return opened.break_lock(by)


def list_tasks(root: Path, store: StoreRef, include_done: bool) -> list[Task]:
    with store.open(root) as opened:
        # a task no longer needed stays listed, cancelled with its reason, for its owner
        return opened.tasks() if include_done else opened.tasks("open", "cancelled")


def waiting_on(root: Path, store: StoreRef, task: Task) -> list[tuple[str, bool]]:
    """The orders of the task's plan that depend on its order, each with whether it is
    gated: what a next apply can run now that the task is done, the gated ones once
    approved (none: nothing waited on it)."""
    with store.open(root) as opened:
        plan = stored_plan(opened, task.plan_digest)
    if plan is None:
        return []
    return sorted((o.id, o.gate is not None) for o in plan.orders if task.order_id in o.depends_on)


def complete_task(root: Path, store: StoreRef, task_id: str, by: str) -> tuple[Task, bool]:
    """Mark a manual task done, and its order verified where it was handed over
    (``tasks.mark_done``); return it and whether this call did. A task already done is
    returned as it was (who did it and when), with nothing recorded again: running
    ``tasks done`` twice must not rewrite who did the work, nor audit it twice."""
    with store.open(root) as opened:
        return mark_done(opened, task_id, by, "task_done")
