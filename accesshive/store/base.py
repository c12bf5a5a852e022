"""The ``Store``: snapshots, plans, apply runs and order states, manual tasks, the audit
log and the per-environment lock, on SQLite or PostgreSQL.

Why one class over two DB-API backends: the SQL is the same; only connecting,
placeholders, auto-increment and locking differ, and those are the backend's
few methods. Every write is its own transaction, so a crash loses at most the
step in flight, and that step is recorded as begun.

This module owns ``Store`` itself: what a backend must give (``close``, ``location``,
``_execute``, ``_outermost``, ``_acquire``, ``_release``) and the schema migrations. The
tables are grouped into mixins, each in its own module:

- ``_db``: the environment, ``_execute`` and nested ``transaction`` (the core of all)
- ``_history``: snapshots, sightings, plans, runs, order events, promotions, report totals
- ``_reviews``: approvals and manual tasks
- ``_idp``: records and bearer-token hashes of identity providers
- ``_audit``: the hash-chained audit log and its consumers' cursors
- ``_locks``: the per-environment lock
- ``_policies``: the review policies in force (those of the last complete apply)
- ``_values``: the values handed out (``LockInfo``, ``SnapshotInfo``, ``Task``,
  ``OrderEvent``) and ``now``
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext

from accesshive.errors import StoreError
from accesshive.store._history import History
from accesshive.store._idp import IdentityProviderRecords
from accesshive.store._locks import Locks
from accesshive.store._notifications import Notifications
from accesshive.store._policies import PoliciesInForce
from accesshive.store._reviews import Reviews
from accesshive.store._values import LockInfo, OrderEvent, SnapshotInfo, Task, TokenInfo, now
from accesshive.store.migrations import LATEST, MIGRATIONS


class Store(History, Reviews, IdentityProviderRecords, Notifications, PoliciesInForce, Locks, ABC):
    """State of one environment. Use as a context manager, or call ``close``."""

    dialect: str = ""

    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the store is, for messages (never with a password)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ runs and tasks

    def finish_run(self, run_id: int, status: str) -> None:
        """Record the run's end; then the open manual tasks its plan no longer holds
        are closed as ``cancelled`` with the reason (audited): any identity's, for a plan
        of the whole repository (the person left and was removed, the change was
        reverted); only its identities', for a partial plan (``retry`` of one identity
        cancels none of another's)."""
        super().finish_run(run_id, status)
        rows = self._execute("SELECT plan_digest FROM runs WHERE id = ?", (run_id,))
        content = self.plan_content(str(rows[0][0])) if rows else None
        if content is None:
            return
        digest = str(rows[0][0])
        plan = json.loads(content)
        orders = plan.get("orders") or []
        scope = plan.get("scope")
        identities = None if scope is None else {str(i) for i in scope}
        reason = f"no longer needed: apply run {run_id} (plan {digest[:12]}) does not contain it"
        cancelled = self.cancel_tasks_not_in({str(o["id"]) for o in orders}, identities, reason)
        if cancelled:
            self.audit_many(
                "apply",
                "task_cancelled",
                [(t.id, {"plan": digest, "run": run_id, "reason": reason}) for t in cancelled],
            )

    # ------------------------------------------------------------------ schema

    def _serial(self) -> str:
        return "INTEGER PRIMARY KEY AUTOINCREMENT"

    def _migrating(self) -> AbstractContextManager[object]:
        """Held while the schema is checked and migrated, so that processes opening a new
        store at once migrate it one after the other (PostgreSQL: an advisory lock)."""
        return nullcontext()

    def migrate(self) -> int:
        """Bring the schema to the latest version; return the version found before."""
        with self._migrating():
            return self._migrate()

    def _migrate(self) -> int:
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


__all__ = ["LockInfo", "OrderEvent", "SnapshotInfo", "Store", "Task", "TokenInfo", "now"]
