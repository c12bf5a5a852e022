"""One lazy PostgreSQL connection to the store, taken in turns by a process's threads:
what the shared write rate limits (``ratelimit.py``) and the shared breakers
(``outages.py``) each keep for their short statements.

Why one home: both open the connection on first use (a worker that never writes to a
limited source, or never sees a failure, never opens it), run one statement at a time
under a lock (the statements are short; a limiter's wait happens after, holding no
lock), close it after a failure so that the next statement connects afresh (the store
may have restarted), and say the failure as a ``StoreError`` in their own words.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from accesshive.errors import StoreError

T = TypeVar("T")


class StoreConnection:
    """A lazily opened autocommit connection to ``url`` (see the module docstring);
    ``failed``: the message of the ``StoreError`` a psycopg error is raised as."""

    def __init__(self, url: str, failed: Callable[[Exception], str]) -> None:
        self.url = url
        self.failed = failed
        self._lock = threading.Lock()
        self._conn: Any = None

    def run(self, step: Callable[[Any], T]) -> T:
        """``step(connection)`` under the lock, on the (re)opened connection; a psycopg
        error closes the connection and is raised as a ``StoreError`` (``failed``)."""
        import psycopg

        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                return step(self._conn)
            except psycopg.Error as exc:
                if self._conn is not None:
                    self._conn.close()
                raise StoreError(self.failed(exc)) from exc

    def execute(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        """One statement; its rows (none for a statement that returns none)."""

        def step(conn: Any) -> list[tuple[Any, ...]]:
            cursor = conn.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

        return self.run(step)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
