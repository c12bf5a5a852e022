"""The embedded default store: one SQLite file per environment under ``.accesshive/``.

The file (and SQLite's journals beside it) is readable by its owner only (mode 0600,
see ``accesshive.private_files``): it holds the audit log, saved plans, identity
records and token hashes.

Locking: the lock row is inserted inside a ``BEGIN IMMEDIATE`` transaction (SQLite's
writer lock), so two processes racing for it cannot both succeed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
            self._conn.execute("PRAGMA journal_mode=WAL")
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
