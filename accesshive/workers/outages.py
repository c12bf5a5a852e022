"""A source found down during an ``apply --workers`` run is down for every worker.

In process, ``apply/outage.py``: ``Breaker`` counts a source's consecutive connection
failures and, once the source is clearly down, errors its remaining orders at once
with the source's message. With workers, each job builds its own executor: a breaker
of its own would let every job, on every worker, spend its own failures (and their
backoffs) on a source that is gone. Here the count and the verdict are one row per run
and source in the store (table ``accesshive_source_outages``, created with the queue's):

- a connection failure adds one to the row's count, and the statement that reaches the
  threshold writes the message (one upsert: failures on several workers at once are
  counted once each); a success, or an answer from the target, sets it back to 0;
- every worker's breaker looks at the row at most every ``LOOK_EVERY`` seconds (and
  before a job's first order), so once the source is down the others stop sending
  within that time: orders in their backoff give up at their next attempt, the others
  are ``errored`` "<source> is unreachable: <message>; not attempted";
- the row is the run's: the next apply tries the source afresh (as in process).

A success writes to the store only when the row may hold failures (what this worker
last saw of it, or its own failure), so a healthy source costs no write per order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from accesshive.apply.outage import THRESHOLD, Breaker, is_connection_failure, target_failure
from accesshive.workers._connection import StoreConnection

TABLE = """
CREATE TABLE IF NOT EXISTS accesshive_source_outages (
    queue text NOT NULL,
    run integer NOT NULL,
    source text NOT NULL,
    failures integer NOT NULL DEFAULT 0,
    message text,
    PRIMARY KEY (queue, run, source)
)
"""
"""One row per environment's queue, run and source that failed to connect at least once."""

LOOK_EVERY = 0.5
"""Seconds a worker's breaker trusts what it last read of a source's row."""


class SharedOutages:
    """One store connection per process for the breakers of its jobs (each run's
    ``SharedBreaker``); the statements are short, the threads take turns on it."""

    def __init__(self, url: str, queue: str) -> None:
        self.url, self.queue = url, queue
        self._conn = StoreConnection(
            url,
            lambda exc: (
                f"cannot read or count a source's outage in the store "
                f"({type(exc).__name__}: {exc}); run apply again once the store is back"
            ),
        )

    def breaker(self, run: int) -> SharedBreaker:
        return SharedBreaker(self, run)

    def execute(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, {"queue": self.queue, **params})

    def close(self) -> None:
        self._conn.close()


_FAILED = """
INSERT INTO accesshive_source_outages AS o (queue, run, source, failures, message)
VALUES (%(queue)s, %(run)s, %(source)s, 1, CASE WHEN %(threshold)s <= 1 THEN %(message)s END)
ON CONFLICT (queue, run, source) DO UPDATE SET
    failures = o.failures + 1,
    message = coalesce(
        o.message, CASE WHEN o.failures + 1 >= %(threshold)s THEN %(message)s END
    )
RETURNING failures, message
"""

_OPENED = """
INSERT INTO accesshive_source_outages AS o (queue, run, source, failures, message)
VALUES (%(queue)s, %(run)s, %(source)s, 0, %(message)s)
ON CONFLICT (queue, run, source) DO UPDATE SET message = coalesce(o.message, %(message)s)
"""

_ANSWERED = """
UPDATE accesshive_source_outages SET failures = 0
WHERE queue = %(queue)s AND run = %(run)s AND source = %(source)s AND failures > 0
"""

_LOOK = """
SELECT failures, message FROM accesshive_source_outages
WHERE queue = %(queue)s AND run = %(run)s AND source = %(source)s
"""

_DOWN = """
SELECT source, message FROM accesshive_source_outages
WHERE queue = %(queue)s AND run = %(run)s AND message IS NOT NULL
"""


class SharedBreaker(Breaker):
    """``Breaker`` whose count and verdict are the run's row in the store (see the
    module docstring); what it found down stays down locally without asking again."""

    def __init__(
        self,
        outages: SharedOutages,
        run: int,
        threshold: int = THRESHOLD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(threshold)
        self.outages, self.run, self.clock = outages, run, clock
        self._seen: dict[str, tuple[float, int]] = {}
        """source → (when this breaker last read its row, the failures it held)."""

    def _params(self, source: str, **more: Any) -> dict[str, Any]:
        return {"run": self.run, "source": source, **more}

    def _saw(self, source: str, failures: int, message: str | None) -> None:
        self._seen[source] = (self.clock(), failures)
        if message is not None:
            super().open(source, message)

    def down(self, source: str) -> str | None:
        message = super().down(source)
        if message is not None:
            return message
        looked = self._seen.get(source)
        if looked is None or self.clock() - looked[0] >= LOOK_EVERY:
            rows = self.outages.execute(_LOOK, self._params(source))
            failures, message = rows[0] if rows else (0, None)
            self._saw(source, int(failures), message)
        return super().down(source)

    def open(self, source: str, message: str) -> None:
        super().open(source, message)
        self.outages.execute(_OPENED, self._params(source, message=message))

    def success(self, source: str) -> None:
        super().success(source)
        looked = self._seen.get(source)
        if looked is not None and looked[1] > 0:
            self.outages.execute(_ANSWERED, self._params(source))
            self._seen[source] = (looked[0], 0)

    def failure(self, source: str, exc: BaseException) -> None:
        if not is_connection_failure(exc):  # an answer: the source is up
            self.success(source)
            return
        message = target_failure(exc) or str(exc)
        rows = self.outages.execute(
            _FAILED, self._params(source, threshold=self.threshold, message=message)
        )
        failures, opened = rows[0]
        self._saw(source, int(failures), opened)

    def down_sources(self) -> dict[str, str]:
        found = {str(s): str(m) for s, m in self.outages.execute(_DOWN, {"run": self.run})}
        return dict(sorted({**found, **super().down_sources()}.items()))
