"""One function per CLI command, composing the pipeline stages.

Why a layer between the CLI and the stages: the CLI only parses options and
renders; what a command *does* is here, callable from tests and other tools.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from accesshive.config import Config, load_config, locate
from accesshive.desired import DesiredState, expand
from accesshive.diagnostics import Diagnostic
from accesshive.errors import ConfigError
from accesshive.plan.build import make_plan
from accesshive.plan.model import Plan
from accesshive.state.snapshot import Snapshot, load_snapshot
from accesshive.store import DEFAULT_ENVIRONMENT, LockInfo, SnapshotInfo, Store, Task, open_store
from accesshive.sync import Progress, SourceResult, sync


@dataclass(frozen=True)
class Validation:
    config: Config | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def load_and_expand(root: Path, today: dt.date) -> tuple[Config, DesiredState]:
    """Load and expand, raising ``ConfigError`` with every problem of both stages."""
    config = load_config(root)
    desired, problems = expand(config, today)
    if problems:
        raise ConfigError(locate(config, [*config.warnings, *problems]))
    return config, desired


def validate_repository(root: Path, today: dt.date) -> Validation:
    try:
        config, _ = load_and_expand(root, today)
    except ConfigError as exc:
        return Validation(None, exc.diagnostics)
    return Validation(config, config.warnings)


@dataclass(frozen=True)
class StoreRef:
    """Which store a command uses: an environment, and optionally a URL."""

    environment: str = DEFAULT_ENVIRONMENT
    url: str | None = None

    def exists(self, root: Path) -> bool:
        url = self.url or os.environ.get("ACCESSHIVE_STORE")
        if url:
            return True
        return (root / ".accesshive" / f"{self.environment}.db").exists()

    def open(self, root: Path) -> Store:
        return open_store(root, self.environment, self.url)


def plan_repository(
    root: Path,
    today: dt.date,
    snapshot_file: Path | None = None,
    allow_mass_changes: bool = False,
    store: StoreRef | None = None,
) -> Plan:
    """Load, expand, diff against the snapshot, and build the plan (nothing is written).

    The snapshot is the file given, else the latest one stored by sync, else empty.
    """
    config, desired = load_and_expand(root, today)
    if snapshot_file:
        snapshot = load_snapshot(snapshot_file)
    elif store is not None and store.exists(root):
        with store.open(root) as opened:
            snapshot = opened.latest_snapshot()
    else:
        snapshot = Snapshot()
    return make_plan(config, desired, snapshot, today, allow_mass_changes)


def sync_repository(
    root: Path, store: StoreRef, sources: list[str] | None, progress: Progress, actor: str
) -> list[SourceResult]:
    config = load_config(root)
    with store.open(root) as opened:
        return sync(config, opened, sources, progress, actor)


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
        return opened.tasks() if include_done else opened.tasks("open")


def complete_task(root: Path, store: StoreRef, task_id: str, by: str) -> Task:
    with store.open(root) as opened:
        task = opened.complete_task(task_id, by=by, state="verified")
        opened.audit(by, "task_done", task_id, {"order": task.order_id, "source": task.source})
        return task
