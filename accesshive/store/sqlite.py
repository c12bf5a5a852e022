"""The embedded default store: one SQLite file per environment under ``.accesshive/``.

The file (and SQLite's journals beside it) is readable by its owner only (mode 0600,
see ``accesshive.private_files``): it holds the audit log, saved plans, identity
records and token hashes.

Locking: the lock row is inserted inside a ``BEGIN IMMEDIATE`` transaction (SQLite's
writer lock), so two processes racing for it cannot both succeed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from accesshive.errors import StoreError
from accesshive.private_files import create_private_file
from accesshive.store._locks import dead_here
from accesshive.store.base import LockInfo, Store


class SQLiteStore(Store):
    dialect = "sqlite"

    def __init__(self, path: Path, environment: str) -> None:
        super().__init__(environment)
        self.path = path
        try:
            create_private_file(path)  # 0600 before SQLite sees it; its journals follow
            self._conn = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=False
            )
            _use_wal(self._conn)
            # WAL + NORMAL: a commit survives the process being killed at any moment (what
            # resume relies on); only a power cut can lose the last few commits
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        self._held: LockInfo | None = None

    @property
    def location(self) -> str:
        return str(self.path)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: {exc}") from exc

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, [tuple(r) for r in rows])
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: {exc}") from exc

    def _migrating(self) -> AbstractContextManager[object]:
        """The whole check and upgrade in one writer transaction: a process that opens a
        new store while another migrates it waits (busy timeout), then finds the schema
        current, instead of running the same migration a second time."""
        return self.transaction()

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        self._execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._execute("COMMIT")

    def close(self) -> None:
        if self._held is not None:
            self._release()
        self._conn.close()

    def _acquire(self, info: LockInfo) -> None:
        with self.transaction():
            existing = self.lock_info()
            if existing is not None and dead_here(existing):
                self._take_over(existing, info)  # its holder was killed: audited
            elif existing is not None:
                raise self._locked(existing)
            else:
                self._insert_lock(info)
        self._held = info

    def _release(self) -> None:
        info, self._held = self._held, None
        if info is not None:
            self._delete_lock(info)


WAL_WAIT_SECONDS = 30.0


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the database in WAL mode (it stays so, in the file). Switching needs an
    exclusive lock and SQLite answers "database is locked" at once, without its busy
    handler, while another process holds the file, as when several commands open a new
    store together: retry for as long as the busy timeout would have waited."""
    deadline = time.monotonic() + WAL_WAIT_SECONDS
    delay = 0.01
    while True:
        try:
            (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
