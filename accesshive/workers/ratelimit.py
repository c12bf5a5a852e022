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

Taking ahead: a statement a write was, for a worker, most of what a write cost it
besides the target's round trip. When the limit is high enough (``ahead_of``), one
statement takes up to ``AHEAD`` tokens that are in the bucket now, and this process's
next writes use them without a statement, each within ``HOLD`` seconds of the take
(after that, what is left is dropped: wasted, never late). A token used up to ``HOLD``
late could put more writes in a window than the bucket allows, so such a bucket's burst
is ``HOLD`` seconds' worth smaller: at the target, any ``W`` seconds still see at most
one second's worth plus ``W`` seconds' worth of writes (plus, as for every write, the
request's own way there). A 429 seen here drops what this process took ahead; one seen
by another worker holds this one at its next statement, at most ``HOLD`` later.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from accesshive.workers._connection import StoreConnection

TABLE = """
CREATE TABLE IF NOT EXISTS accesshive_write_buckets (
    queue text NOT NULL,
    source text NOT NULL,
    tokens double precision NOT NULL,
    stamp double precision NOT NULL,
    paused_until double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, source)
);
ALTER TABLE accesshive_write_buckets ADD COLUMN IF NOT EXISTS took integer NOT NULL DEFAULT 1
"""
"""One row per environment's queue and source (created with the job queue's tables);
``took``: how many tokens the row's last statement took (one, or some ahead)."""

NOW = "extract(epoch from clock_timestamp())::double precision"

AHEAD = 8
"""The most tokens one statement takes (see the module docstring)."""

HOLD = 0.25
"""Seconds a process may use the tokens it took ahead, from before its statement."""

_RESERVE = f"""
INSERT INTO accesshive_write_buckets AS b (queue, source, tokens, stamp, took)
VALUES (%(queue)s, %(source)s, %(capacity)s - 1, {NOW}, 1)
ON CONFLICT (queue, source) DO UPDATE SET (tokens, took, stamp) = (
    SELECT level - take, take, greatest(at, b.stamp) FROM (
        SELECT level, at, CASE WHEN b.paused_until <= at AND level >= 2
            THEN least(%(ahead)s, floor(level)) ELSE 1 END AS take
        FROM (
            SELECT at, least(%(capacity)s, b.tokens + greatest(0, at - b.stamp) * %(rate)s)
                AS level
            FROM (SELECT {NOW} AS at) AS clock
        ) AS bucket
    ) AS taking
)
RETURNING tokens, greatest(0, paused_until - {NOW}), took
"""
"""One statement, one reading of the clock: the bucket's tokens now (``level``), and
what it takes (``take``): the tokens there now, at most ``ahead``, or else one
(possibly not there yet: its writer waits for it)."""


def ahead_of(per_minute: float) -> tuple[float, int]:
    """(the bucket's capacity, the most tokens a statement takes) for a limit: ahead
    only when the bucket, ``HOLD`` seconds' worth smaller, still holds two tokens;
    else one token a statement and the whole one second's burst, as in process."""
    rate = per_minute / 60.0
    burst = max(1.0, rate)
    if burst - rate * HOLD < 2:
        return burst, 1
    return burst - rate * HOLD, min(AHEAD, math.floor(burst - rate * HOLD))


class SharedWriteLimiter:
    """The ``WriteGate`` of one source, its bucket a row of the store (see the module
    docstring). One connection per limiter; the threads of a process take turns on it
    for the (short) reservation, never for the wait, and share what it took ahead."""

    def __init__(
        self,
        url: str,
        queue: str,
        source: str,
        per_minute: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self.queue, self.source = url, queue, source
        self.rate = per_minute / 60.0
        self.capacity, self.ahead = ahead_of(per_minute)
        self.sleep, self.clock = sleep, clock
        self._lock = threading.Lock()
        self._conn = StoreConnection(
            url,
            lambda exc: (
                f"cannot take a write of source {source} from its rate limit in the store "
                f"({type(exc).__name__}: {exc}); nothing was sent: run apply again once "
                "the store is back"
            ),
        )
        self._kept = 0
        """Tokens taken ahead and not used yet, usable until ``_kept_until``."""
        self._kept_until = 0.0

    def _reserve(self) -> float:
        """Take a token (possibly one not there yet), and maybe some ahead; how long
        until the first is there. One statement (an upsert holding the row's lock to
        its end): one round trip to the store for one write, or for several."""
        start = self.clock()
        row = self._conn.execute(
            _RESERVE,
            {
                "queue": self.queue,
                "source": self.source,
                "capacity": self.capacity,
                "rate": self.rate,
                "ahead": self.ahead,
            },
        )[0]
        tokens, paused, took = float(row[0]), float(row[1]), int(row[2])
        if took > 1:  # tokens that were there: no wait for any of them
            self._kept, self._kept_until = took - 1, start + HOLD
        return max(paused, -tokens / self.rate if tokens < 0 else 0.0)

    def acquire(self) -> float:
        with self._lock:
            if self._kept and self.clock() < self._kept_until:
                self._kept -= 1
                return 0.0
            self._kept = 0  # too old to use: dropped
            wait = self._reserve()
        if wait > 0:
            self.sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._kept = 0  # the target asked us to wait: nothing taken ahead is used
            self._conn.execute(
                "UPDATE accesshive_write_buckets SET paused_until = "
                f"greatest(paused_until, {NOW} + %s) WHERE queue = %s AND source = %s",
                (seconds, self.queue, self.source),
            )

    def close(self) -> None:
        self._conn.close()


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
