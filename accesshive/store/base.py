"""The ``Store``: snapshots, plans, apply runs and order states, manual tasks, the audit
log and the per-environment lock, on SQLite or PostgreSQL.

Why one class over two DB-API backends: the SQL is the same; only connecting,
placeholders, auto-increment and locking differ, and those are the backend's
few methods. Every write is its own transaction, so a crash loses at most the
step in flight, and that step is recorded as begun.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from accesshive.audit.chain import AuditEntry, entry_hash
from accesshive.errors import LockedError, StoreError
from accesshive.state.snapshot import Snapshot, SourceSnapshot
from accesshive.store.migrations import LATEST, MIGRATIONS


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LockInfo:
    environment: str
    holder: str
    pid: int
    host: str
    since: str
    purpose: str

    def describe(self) -> str:
        return (
            f"locked by {self.holder} (pid {self.pid} on {self.host}) since {self.since} "
            f"for {self.purpose}"
        )


@dataclass(frozen=True)
class SnapshotInfo:
    source: str
    fingerprint: str
    read_at: str
    accounts: int


@dataclass(frozen=True)
class Task:
    id: str
    plan_digest: str
    order_id: str
    source: str
    assignee: str
    description: str
    content: dict[str, Any]
    state: str
    created_at: str
    done_at: str | None = None
    done_by: str | None = None


@dataclass(frozen=True)
class OrderState:
    order_id: str
    state: str
    at: str
    message: str | None
    result: str | None = None


class Store(ABC):
    """State of one environment. Use as a context manager, or call ``close``."""

    dialect: str = ""

    def __init__(self, environment: str) -> None:
        self.environment = environment

    # ------------------------------------------------------------------ backend

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in the current transaction; return its rows (if any)."""

    _depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that excludes other writers until it ends; nested calls join
        the outer one, so a step made of several writes commits once."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self._outermost():
                yield
        finally:
            self._depth = 0

    @abstractmethod
    def _outermost(self) -> AbstractContextManager[None]:
        """Begin, commit (or roll back) one real transaction of the backend."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _acquire(self, info: LockInfo) -> None:
        """Take the environment lock or raise ``LockedError``."""

    @abstractmethod
    def _release(self) -> None: ...

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the store is, for messages (never with a password)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ schema

    def _serial(self) -> str:
        return "INTEGER PRIMARY KEY AUTOINCREMENT"

    def migrate(self) -> int:
        """Bring the schema to the latest version; return the version found before."""
        with self.transaction():
            self._execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            rows = self._execute("SELECT MAX(version) FROM schema_version")
        found = int(rows[0][0] or 0) if rows else 0
        if found > LATEST:
            raise StoreError(
                f"store {self.location} has schema version {found}, newer than this "
                f"accesshive knows ({LATEST}); upgrade accesshive"
            )
        for version, statements in MIGRATIONS:
            if version <= found:
                continue
            with self.transaction():
                for statement in statements:
                    self._execute(statement.replace("{serial}", self._serial()))
                self._execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        return found

    def schema_version(self) -> int:
        rows = self._execute("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    # ------------------------------------------------------------------ snapshots

    def save_snapshot(self, source: str, snap: SourceSnapshot) -> str:
        """Store a complete snapshot, and remember when each account was first seen."""
        fingerprint = snap.fingerprint()
        seen = self.first_seen(source)
        new = [a.external_id for a in snap.accounts if a.external_id not in seen]
        with self.transaction():
            at = snap.read_at or now()
            for ext in new:
                self._execute(
                    "INSERT INTO sightings (environment, source, external_id, first_seen) "
                    "VALUES (?, ?, ?, ?)",
                    (self.environment, source, ext, at),
                )
            self._execute(
                "INSERT INTO snapshots (environment, source, fingerprint, read_at, content, "
                "accounts) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self.environment,
                    source,
                    fingerprint,
                    snap.read_at or now(),
                    snap.model_dump_json(),
                    len(snap.accounts),
                ),
            )
        return fingerprint

    def _latest_rows(self, columns: str) -> list[tuple[Any, ...]]:
        return self._execute(
            f"SELECT {columns} FROM snapshots s WHERE environment = ? AND id = "
            "(SELECT MAX(id) FROM snapshots t WHERE t.environment = s.environment "
            "AND t.source = s.source) ORDER BY source",
            (self.environment,),
        )

    def latest_snapshot(self) -> Snapshot:
        rows = self._latest_rows("source, content")
        return Snapshot(
            sources={src: SourceSnapshot.model_validate_json(content) for src, content in rows}
        )

    def snapshot_info(self) -> list[SnapshotInfo]:
        rows = self._latest_rows("source, fingerprint, read_at, accounts")
        return [SnapshotInfo(r[0], r[1], r[2], int(r[3])) for r in rows]

    # ------------------------------------------------------------------ plans and runs

    def save_plan(self, digest: str, config_digest: str, content: str) -> None:
        with self.transaction():
            if self._execute("SELECT 1 FROM plans WHERE digest = ?", (digest,)):
                return
            self._execute(
                "INSERT INTO plans (digest, environment, created_at, config_digest, content) "
                "VALUES (?, ?, ?, ?, ?)",
                (digest, self.environment, now(), config_digest, content),
            )

    def plan_content(self, digest: str) -> str | None:
        rows = self._execute("SELECT content FROM plans WHERE digest = ?", (digest,))
        return str(rows[0][0]) if rows else None

    def start_run(self, plan_digest: str, actor: str) -> int:
        with self.transaction():
            self._execute(
                "INSERT INTO runs (environment, plan_digest, actor, started_at, status) "
                "VALUES (?, ?, ?, ?, 'running')",
                (self.environment, plan_digest, actor, now()),
            )
            rows = self._execute(
                "SELECT MAX(id) FROM runs WHERE environment = ? AND plan_digest = ?",
                (self.environment, plan_digest),
            )
        return int(rows[0][0])

    def finish_run(self, run_id: int, status: str) -> None:
        with self.transaction():
            self._execute(
                "UPDATE runs SET finished_at = ?, status = ? WHERE id = ?",
                (now(), status, run_id),
            )

    def runs(self, plan_digest: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, plan_digest, actor, started_at, finished_at, status FROM runs "
        sql += "WHERE environment = ?"
        params: list[Any] = [self.environment]
        if plan_digest:
            sql += " AND plan_digest = ?"
            params.append(plan_digest)
        rows = self._execute(sql + " ORDER BY id", params)
        keys = ("id", "plan_digest", "actor", "started_at", "finished_at", "status")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def record_order_state(
        self,
        run_id: int,
        plan_digest: str,
        order_id: str,
        state: str,
        message: str | None = None,
        result: str | None = None,
    ) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO order_events (run_id, plan_digest, order_id, state, at, message, "
                "result) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, plan_digest, order_id, state, now(), message, result),
            )
            self.audit(
                "apply",
                "order_state",
                order_id,
                {"plan": plan_digest, "run": run_id, "state": state, "message": message},
            )

    def order_states(self, plan_digest: str) -> dict[str, OrderState]:
        """The latest state of every order of a plan, across all its runs."""
        rows = self._execute(
            "SELECT order_id, state, at, message, result FROM order_events e "
            "WHERE plan_digest = ? AND id = (SELECT MAX(id) FROM order_events f "
            "WHERE f.plan_digest = e.plan_digest AND f.order_id = e.order_id)",
            (plan_digest,),
        )
        return {r[0]: OrderState(r[0], r[1], r[2], r[3], r[4]) for r in rows}

    def results(self, plan_digest: str) -> dict[str, str]:
        """order id → the last result any run recorded for it (e.g. a created account's id)."""
        rows = self._execute(
            "SELECT order_id, result FROM order_events WHERE plan_digest = ? "
            "AND result IS NOT NULL ORDER BY id",
            (plan_digest,),
        )
        return {r[0]: r[1] for r in rows}

    def latest_run(self) -> dict[str, Any] | None:
        runs = self.runs()
        return runs[-1] if runs else None

    def order_history(self, plan_digest: str, order_id: str) -> list[OrderState]:
        rows = self._execute(
            "SELECT order_id, state, at, message, result FROM order_events "
            "WHERE plan_digest = ? AND order_id = ? ORDER BY id",
            (plan_digest, order_id),
        )
        return [OrderState(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    # ------------------------------------------------------------------ promotion

    def applied_runs(self, config_digest: str) -> list[dict[str, Any]]:
        """Apply runs in this environment of plans made from ``config_digest``, oldest first."""
        rows = self._execute(
            "SELECT r.id, r.plan_digest, r.status, r.finished_at FROM runs r JOIN plans p "
            "ON p.digest = r.plan_digest WHERE r.environment = ? AND p.config_digest = ? "
            "ORDER BY r.id",
            (self.environment, config_digest),
        )
        return [
            dict(zip(("id", "plan_digest", "status", "finished_at"), r, strict=True)) for r in rows
        ]

    def latest_applied_config(self) -> str | None:
        rows = self._execute(
            "SELECT p.config_digest FROM runs r JOIN plans p ON p.digest = r.plan_digest "
            "WHERE r.environment = ? ORDER BY r.id DESC LIMIT 1",
            (self.environment,),
        )
        return str(rows[0][0]) if rows else None

    def record_promotion(
        self, config_digest: str, source_env: str, plan_digest: str, actor: str
    ) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO promotions (environment, config_digest, from_environment, "
                "plan_digest, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.environment, config_digest, source_env, plan_digest, actor, now()),
            )

    def promoted(self, config_digest: str, source_env: str) -> bool:
        return bool(
            self._execute(
                "SELECT 1 FROM promotions WHERE environment = ? AND config_digest = ? "
                "AND from_environment = ?",
                (self.environment, config_digest, source_env),
            )
        )

    # ------------------------------------------------------------------ reports and sightings

    def save_report_totals(self, totals: dict[str, Any]) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO reports (environment, at, totals) VALUES (?, ?, ?)",
                (self.environment, now(), json.dumps(totals, sort_keys=True)),
            )

    def previous_report_totals(self) -> tuple[str, dict[str, Any]] | None:
        rows = self._execute(
            "SELECT at, totals FROM reports WHERE environment = ? ORDER BY id DESC LIMIT 1",
            (self.environment,),
        )
        return (str(rows[0][0]), json.loads(rows[0][1])) if rows else None

    def first_seen(self, source: str) -> dict[str, str]:
        rows = self._execute(
            "SELECT external_id, first_seen FROM sightings WHERE environment = ? AND source = ?",
            (self.environment, source),
        )
        return {str(r[0]): str(r[1]) for r in rows}

    # ------------------------------------------------------------------ identity providers

    def put_record(self, source: str, resource_type: str, rid: str, body: str) -> None:
        with self.transaction():
            self._execute(
                "DELETE FROM idp_records WHERE environment = ? AND source = ? "
                "AND resource_type = ? AND id = ?",
                (self.environment, source, resource_type, rid),
            )
            self._execute(
                "INSERT INTO idp_records (environment, source, resource_type, id, body, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.environment, source, resource_type, rid, body, now()),
            )

    def delete_record(self, source: str, resource_type: str, rid: str) -> None:
        with self.transaction():
            self._execute(
                "DELETE FROM idp_records WHERE environment = ? AND source = ? "
                "AND resource_type = ? AND id = ?",
                (self.environment, source, resource_type, rid),
            )

    def replace_records(self, source: str, records: list[tuple[str, str, str]]) -> None:
        """The whole set of a source's records at once (an import replaces the last one)."""
        with self.transaction():
            self._execute(
                "DELETE FROM idp_records WHERE environment = ? AND source = ?",
                (self.environment, source),
            )
            for resource_type, rid, body in records:
                self._execute(
                    "INSERT INTO idp_records (environment, source, resource_type, id, body, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (self.environment, source, resource_type, rid, body, now()),
                )

    def records(self, source: str) -> list[tuple[str, str, str]]:
        """(resource type, id, body JSON) of everything an identity provider pushed."""
        rows = self._execute(
            "SELECT resource_type, id, body FROM idp_records WHERE environment = ? "
            "AND source = ? ORDER BY resource_type, id",
            (self.environment, source),
        )
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def new_token(self, source: str, token_hash: str) -> int:
        """Keep a token's hash; revoke the source's earlier tokens (returns how many)."""
        with self.transaction():
            revoked = len(
                self._execute(
                    "SELECT 1 FROM idp_tokens WHERE environment = ? AND source = ? "
                    "AND revoked_at IS NULL",
                    (self.environment, source),
                )
            )
            self._execute(
                "UPDATE idp_tokens SET revoked_at = ? WHERE environment = ? AND source = ? "
                "AND revoked_at IS NULL",
                (now(), self.environment, source),
            )
            self._execute(
                "INSERT INTO idp_tokens (environment, source, hash, created_at) "
                "VALUES (?, ?, ?, ?)",
                (self.environment, source, token_hash, now()),
            )
        return revoked

    def token_valid(self, source: str, token_hash: str) -> bool:
        return bool(
            self._execute(
                "SELECT 1 FROM idp_tokens WHERE environment = ? AND source = ? AND hash = ? "
                "AND revoked_at IS NULL",
                (self.environment, source, token_hash),
            )
        )

    # ------------------------------------------------------------------ approvals

    def record_approval(
        self,
        plan_digest: str,
        order_id: str,
        content_digest: str,
        reviewer: str,
        evidence: str,
        at: str,
    ) -> bool:
        """Keep an approval read from a pull request (once per reviewer and order)."""
        with self.transaction():
            if self._execute(
                "SELECT 1 FROM approvals WHERE plan_digest = ? AND order_id = ? AND reviewer = ?",
                (plan_digest, order_id, reviewer),
            ):
                return False
            self._execute(
                "INSERT INTO approvals (plan_digest, order_id, content_digest, reviewer, "
                "signature, at) VALUES (?, ?, ?, ?, ?, ?)",
                (plan_digest, order_id, content_digest, reviewer, evidence, at),
            )
        return True

    def approvals(self, plan_digest: str) -> list[tuple[str, str, str, str, str]]:
        """(order id, content digest, reviewer, evidence, at) recorded for a plan."""
        rows = self._execute(
            "SELECT order_id, content_digest, reviewer, signature, at FROM approvals "
            "WHERE plan_digest = ? ORDER BY id",
            (plan_digest,),
        )
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    # ------------------------------------------------------------------ manual tasks

    def save_task(self, task: Task) -> bool:
        """Record a task once (idempotent by id); return whether it was new."""
        with self.transaction():
            if self._execute("SELECT 1 FROM tasks WHERE id = ?", (task.id,)):
                return False
            self._execute(
                "INSERT INTO tasks (id, environment, plan_digest, order_id, source, assignee, "
                "description, content, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    task.id,
                    self.environment,
                    task.plan_digest,
                    task.order_id,
                    task.source,
                    task.assignee,
                    task.description,
                    json.dumps(task.content, sort_keys=True),
                    task.state,
                    task.created_at,
                ),
            )
        return True

    def tasks(self, state: str | None = None) -> list[Task]:
        sql = (
            "SELECT id, plan_digest, order_id, source, assignee, description, content, state, "
            "created_at, done_at, done_by FROM tasks WHERE environment = ?"
        )
        params: list[Any] = [self.environment]
        if state:
            sql += " AND state = ?"
            params.append(state)
        rows = self._execute(sql + " ORDER BY created_at, id", params)
        return [
            Task(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[9], r[10])
            for r in rows
        ]

    def complete_task(self, task_id: str, by: str, state: str = "verified") -> Task:
        with self.transaction():
            rows = self._execute(
                "SELECT state FROM tasks WHERE id = ? AND environment = ?",
                (task_id, self.environment),
            )
            if not rows:
                raise StoreError(f"no manual task '{task_id}'; `accesshive tasks list` shows them")
            self._execute(
                "UPDATE tasks SET state = ?, done_at = ?, done_by = ? WHERE id = ?",
                (state, now(), by, task_id),
            )
        return next(t for t in self.tasks() if t.id == task_id)

    # ------------------------------------------------------------------ audit

    def audit(self, actor: str, event: str, subject: str | None, details: dict[str, Any]) -> None:
        """Append to the audit log; each entry hashes the one before (tamper evidence)."""
        with self.transaction():
            rows = self._execute(
                "SELECT hash FROM audit WHERE environment = ? ORDER BY seq DESC LIMIT 1",
                (self.environment,),
            )
            prev = rows[0][0] if rows else None
            at = now()
            body = json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)
            digest = entry_hash(prev, at, actor, event, subject, body)
            self._execute(
                "INSERT INTO audit (environment, at, actor, event, subject, details, prev_hash, "
                "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (self.environment, at, actor, event, subject, body, prev, digest),
            )

    def audit_entries(self, since: str | None = None, after_seq: int = 0) -> list[AuditEntry]:
        sql = (
            "SELECT seq, at, actor, event, subject, details, prev_hash, hash FROM audit "
            "WHERE environment = ? AND seq > ?"
        )
        params: list[Any] = [self.environment, after_seq]
        if since:
            sql += " AND at >= ?"
            params.append(since)
        rows = self._execute(sql + " ORDER BY seq", params)
        return [AuditEntry(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]

    def cursor(self, name: str) -> tuple[int, str | None]:
        """How far an audit consumer got: (last seq, its hash)."""
        rows = self._execute(
            "SELECT seq, hash FROM audit_cursors WHERE environment = ? AND name = ?",
            (self.environment, name),
        )
        return (int(rows[0][0]), rows[0][1]) if rows else (0, None)

    def anchors(self) -> dict[int, str]:
        rows = self._execute(
            "SELECT seq, hash FROM audit_cursors WHERE environment = ? AND hash IS NOT NULL",
            (self.environment,),
        )
        return {int(r[0]): str(r[1]) for r in rows}

    def set_cursor(self, name: str, seq: int, hash_: str | None) -> None:
        with self.transaction():
            self._execute(
                "DELETE FROM audit_cursors WHERE environment = ? AND name = ?",
                (self.environment, name),
            )
            self._execute(
                "INSERT INTO audit_cursors (environment, name, seq, hash, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.environment, name, seq, hash_, now()),
            )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._execute(
            "SELECT seq, at, actor, event, subject, details FROM audit WHERE environment = ? "
            "ORDER BY seq DESC LIMIT ?",
            (self.environment, limit),
        )
        keys = ("seq", "at", "actor", "event", "subject", "details")
        out = [dict(zip(keys, r, strict=True)) for r in rows]
        for entry in out:
            entry["details"] = json.loads(entry["details"])
        return list(reversed(out))

    # ------------------------------------------------------------------ locking

    @contextmanager
    def lock(self, holder: str, purpose: str = "apply") -> Iterator[LockInfo]:
        """Hold the environment's lock for the duration; released on exit, even on error."""
        info = LockInfo(self.environment, holder, os.getpid(), socket.gethostname(), now(), purpose)
        self._acquire(info)
        try:
            yield info
        finally:
            self._release()

    def lock_info(self) -> LockInfo | None:
        rows = self._execute(
            "SELECT environment, holder, pid, host, since, purpose FROM locks "
            "WHERE environment = ?",
            (self.environment,),
        )
        return LockInfo(*rows[0]) if rows else None

    def break_lock(self, by: str) -> LockInfo | None:
        """Remove a lock left by a crashed run; recorded in the audit log."""
        info = self.lock_info()
        if info is None:
            return None
        with self.transaction():
            self._execute("DELETE FROM locks WHERE environment = ?", (self.environment,))
        self.audit(by, "lock_broken", self.environment, {"lock": info.__dict__})
        return info

    def _insert_lock(self, info: LockInfo) -> None:
        self._execute(
            "INSERT INTO locks (environment, holder, pid, host, since, purpose) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (info.environment, info.holder, info.pid, info.host, info.since, info.purpose),
        )

    def _delete_lock(self, info: LockInfo) -> None:
        """Remove our own lock row (never another holder's)."""
        with self.transaction():
            self._execute(
                "DELETE FROM locks WHERE environment = ? AND pid = ? AND since = ?",
                (info.environment, info.pid, info.since),
            )

    def _locked(self, existing: LockInfo) -> LockedError:
        hint = ""
        if existing.host == socket.gethostname() and not _alive(existing.pid):
            hint = (
                f"; process {existing.pid} is no longer running: if no apply is in progress, "
                "`accesshive state unlock --force` releases it"
            )
        return LockedError(f"environment '{self.environment}' is {existing.describe()}{hint}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
