"""A source's write rate limit across every worker: one token bucket per source in the
PostgreSQL store, so ``quirks.writes_per_minute`` holds at the target for all the
processes of an ``apply --workers`` together, not for each one.

Why a row of the store: procrastinate has per-lock concurrency but no
rate limit (ARCHITECTURE.md, "Scale-out"). The bucket is the in-process one's
(``connectors/scim/_transport.py``: ``WriteLimiter``): ``per_minute / 60`` tokens a
second, bursts of at most one second's worth, a write reserves its token at once and
waits until the token would have been there. Here the reservation is one statement on
the row (an upsert, which holds the row's lock until it ends), timed by the database's
own clock (``clock_timestamp()``), so workers on machines whose clocks disagree still
share one bucket; the wait happens after the statement, holding no lock. A 429 pauses
every writer of the source, on every worker (``paused_until``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from accesshive.errors import StoreError

TABLE = """
CREATE TABLE IF NOT EXISTS accesshive_write_buckets (
    queue text NOT NULL,
    source text NOT NULL,
    tokens double precision NOT NULL,
    stamp double precision NOT NULL,
    paused_until double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, source)
)
"""
"""One row per environment's queue and source (created with the job queue's tables)."""

NOW = "extract(epoch from clock_timestamp())::double precision"


class SharedWriteLimiter:
    """The ``WriteGate`` of one source, its bucket a row of the store (see the module
    docstring). One connection per limiter; the threads of a process take turns on it
    for the (short) reservation, never for the wait."""

    def __init__(
        self,
        url: str,
        queue: str,
        source: str,
        per_minute: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url, self.queue, self.source = url, queue, source
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.sleep = sleep
        self._lock = threading.Lock()
        self._conn: Any = None

    def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        return self._conn

    def _reserve(self) -> float:
        """Take a token (possibly one not there yet); how long until it is. One statement
        (an upsert holding the row's lock to its end): one round trip to the store a
        write, which on a loaded machine is most of what a write costs a worker."""
        conn = self._connection()
        row = conn.execute(
            "INSERT INTO accesshive_write_buckets AS b (queue, source, tokens, stamp) "
            f"VALUES (%(queue)s, %(source)s, %(capacity)s - 1, {NOW}) "
            "ON CONFLICT (queue, source) DO UPDATE SET "
            f"tokens = least(%(capacity)s, b.tokens + greatest(0, {NOW} - b.stamp) * %(rate)s)"
            f" - 1, stamp = greatest({NOW}, b.stamp) "
            f"RETURNING tokens, greatest(0, paused_until - {NOW})",
            {
                "queue": self.queue,
                "source": self.source,
                "capacity": self.capacity,
                "rate": self.rate,
            },
        ).fetchone()
        tokens, paused = float(row[0]), float(row[1])
        return max(paused, -tokens / self.rate if tokens < 0 else 0.0)

    def acquire(self) -> float:
        with self._lock:
            wait = self._guarded(self._reserve)
        if wait > 0:
            self.sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        def paused() -> float:
            conn = self._connection()
            conn.execute(
                "UPDATE accesshive_write_buckets SET paused_until = "
                f"greatest(paused_until, {NOW} + %s) WHERE queue = %s AND source = %s",
                (seconds, self.queue, self.source),
            )
            return 0.0

        with self._lock:
            self._guarded(paused)

    def _guarded(self, step: Callable[[], float]) -> float:
        import psycopg

        try:
            return step()
        except psycopg.Error as exc:
            if self._conn is not None:
                self._conn.close()
            raise StoreError(
                f"cannot take a write of source {self.source} from its rate limit in the "
                f"store ({type(exc).__name__}: {exc}); nothing was sent: run apply again "
                "once the store is back"
            ) from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class SharedWriteLimits:
    """``WriteLimits`` over the store: one ``SharedWriteLimiter`` per source and limit,
    shared by every connector of this process (each job's executor builds its own)."""

    def __init__(self, url: str, queue: str) -> None:
        self.url, self.queue = url, queue
        self._limiters: dict[tuple[str, float], SharedWriteLimiter] = {}
        self._lock = threading.Lock()

    def __call__(self, source: str, per_minute: float) -> SharedWriteLimiter:
        with self._lock:
            key = (source, per_minute)
            if key not in self._limiters:
                self._limiters[key] = SharedWriteLimiter(self.url, self.queue, source, per_minute)
            return self._limiters[key]

    def close(self) -> None:
        with self._lock:
            for limiter in self._limiters.values():
                limiter.close()
            self._limiters.clear()
