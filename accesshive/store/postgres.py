"""The shared store for teams and CI runners: PostgreSQL through psycopg 3.

Locking: a session-level advisory lock, which PostgreSQL itself releases when
the holder's connection dies, so a crashed apply never strands the lock; the
``locks`` row beside it tells others who holds it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from accesshive.errors import StoreError
from accesshive.store.base import LockInfo, Store

_PASSWORD_PARAMETER = re.compile(r"(?i)(\bpassword\s*=\s*)('[^']*'|[^&\s]*)")
"""A password given as a parameter: ``?password=secret`` in a URL (libpq reads it so), or
``password=secret`` in a ``key=value`` connection string."""


def redact(url: str) -> str:
    """postgresql://user:secret@host/db → postgresql://user:***@host/db, and any
    ``password=`` parameter → ``password=***``: libpq takes the password either way, and
    a store URL is printed in hints, ``state show`` and errors."""
    url = _PASSWORD_PARAMETER.sub(r"\1***", url)
    head, sep, tail = url.rpartition("@")
    if not sep or "//" not in head or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, userinfo = head.partition("//")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}"


def _one_line(exc: Exception) -> str:
    """psycopg's message spans lines ("…\n\tIs the server running on that host…"): an
    error is shown on one line."""
    return " ".join(str(exc).split())


_MIGRATION_KEY = int.from_bytes(
    hashlib.sha256(b"accesshive:schema migrations").digest()[:8], "big", signed=True
)
"""The advisory lock under which the schema is checked and migrated."""


class PostgresStore(Store):
    dialect = "postgresql"

    def __init__(self, url: str, environment: str) -> None:
        super().__init__(environment)
        import psycopg

        self._psycopg = psycopg
        self._url = url
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the store {redact(url)}: {_one_line(exc)}"
            ) from exc
        self._held: LockInfo | None = None
        self._key = int.from_bytes(
            hashlib.sha256(f"accesshive:{environment}".encode()).digest()[:8], "big", signed=True
        )

    @property
    def location(self) -> str:
        return redact(self._url)

    def has_schema(self) -> bool:
        """Whether accesshive ever created its tables in this database (a command that
        only reads refuses one where it did not, rather than creating them)."""
        return self._execute("SELECT to_regclass('schema_version')")[0][0] is not None

    def _serial(self) -> str:
        return "BIGSERIAL PRIMARY KEY"

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cur = self._conn.execute(sql.replace("?", "%s"), tuple(params))
            return cur.fetchall() if cur.description else []
        except self._psycopg.Error as exc:
            raise StoreError(f"store {self.location}: {_one_line(exc)}") from exc

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            with self._conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])
        except self._psycopg.Error as exc:
            raise StoreError(f"store {self.location}: {_one_line(exc)}") from exc

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        with self._conn.transaction():
            # serialise writers the way SQLite's BEGIN IMMEDIATE does
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._key ^ 1,))
            yield

    @contextmanager
    def _migrating(self) -> Iterator[None]:
        # one key for the whole database: every environment's store shares its schema
        self._execute("SELECT pg_advisory_lock(?)", (_MIGRATION_KEY,))
        try:
            yield
        finally:
            self._execute("SELECT pg_advisory_unlock(?)", (_MIGRATION_KEY,))

    def close(self) -> None:
        if self._held is not None:
            self._release()
        self._conn.close()

    def _acquire(self, info: LockInfo) -> None:
        got = self._execute("SELECT pg_try_advisory_lock(?)", (self._key,))[0][0]
        if not got:
            existing = self.lock_info()
            raise self._locked(existing or info)
        with self.transaction():
            # a row left by a holder whose connection died is stale: the advisory lock was free
            stale = self.lock_info()
            if stale is not None:
                self._take_over(stale, info)
            else:
                self._insert_lock(info)
        self._held = info

    def _release(self) -> None:
        info, self._held = self._held, None
        if info is not None:
            self._delete_lock(info)
            self._execute("SELECT pg_advisory_unlock(?)", (self._key,))
