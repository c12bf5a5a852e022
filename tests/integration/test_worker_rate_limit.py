"""A source's write rate limit (``quirks.writes_per_minute``) holds across all the workers
of an ``apply --workers`` together, counted where it matters: at the target.

Three ``accesshive worker`` processes run a plan of creates against a real scim2-server
whose source allows three jobs at once. The server notes when each write arrives; the
test asserts on those counts, per window, against the bucket's own bound (at most
``capacity + rate × window`` writes may be due in a window), with a tolerance for
requests that arrive late (a delayed write can land in a later window than its token).
No wall-clock duration is asserted. With one bucket per worker, three workers would
write three times as fast: a 5-second window would hold about twice the bound.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from accesshive.errors import EXIT_WAITING
from accesshive.plan.planfile import read_plan
from accesshive.workers.engine import ensure_schema
from accesshive.workers.ratelimit import AHEAD, HOLD, SharedWriteLimiter, ahead_of
from tests.support.scim_server import ScimServer
from tests.support.scim_sources import design_repo, design_source, people_yaml
from tests.support.workers import Worker, apply_workers_argv, planned

PEOPLE = 30
"""People in Sales, and one admin more: each an account to create and a grant."""
PER_MINUTE = 120
RATE = PER_MINUTE / 60  # tokens a second
CAPACITY = max(1.0, RATE)  # a burst of one second's worth
WINDOW = 5.0
LATE = 2.0
"""How late a write may arrive after its token was due (a loaded machine's latency),
for the tolerance: the bound is that of a window ``LATE`` seconds longer."""


class Arrivals:
    """WSGI middleware in front of the SCIM server: when each write arrived."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.writes: list[float] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] != "GET":
            with self.lock:
                self.writes.append(time.monotonic())
        return self.app(environ, start_response)

    def most_in(self, window: float) -> int:
        """The most writes that arrived within any ``window`` seconds."""
        times = sorted(self.writes)
        return max(
            (sum(1 for t in times[i:] if t < start + window)) for i, start in enumerate(times)
        )


def test_three_workers_share_one_write_rate_limit_counted_at_the_target(
    tmp_path: Path, design_scim: ScimServer, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGN_SCIM_TOKEN", design_scim.token)
    design = design_source(design_scim.url, concurrency=3, writes_per_minute=PER_MINUTE)
    root = design_repo(tmp_path, design, people_yaml(PEOPLE + 1, admin_last=True))
    plan = read_plan(planned(root, ["--store", postgres_db]))

    arrivals = Arrivals(design_scim.running.server.get_app())
    design_scim.running.server.set_app(arrivals)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [Worker(root, postgres_db, env) for _ in range(3)]
    try:
        applied = subprocess.run(
            apply_workers_argv(root / "plan.json", root, postgres_db),
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    finally:
        logs = [w.stop() for w in workers]
    assert applied.returncode == EXIT_WAITING, applied.stderr + "\n".join(logs)
    ungated = [o for o in plan.orders if o.gate is None]
    users = design_scim.http().get("Users", params={"count": 1000}).json()["Resources"]
    assert len(users) == len([o for o in ungated if o.action == "create_account"])
    bound = CAPACITY + RATE * (WINDOW + LATE)
    assert len(arrivals.writes) > 2 * bound  # enough writes that a per-worker limit shows
    assert arrivals.most_in(WINDOW) <= bound, (arrivals.most_in(WINDOW), bound)
    ran = [w for w in workers if w.states]
    assert len(ran) >= 2, "the orders did not run on several workers"


def test_two_processes_draw_from_one_bucket_and_a_429_pauses_both(postgres_db: str) -> None:
    """The bucket math on the shared row, without waiting: each reservation says how long
    its writer must wait, and those waits grow by one token's time across two limiters
    (two workers' connections). A pause asked by one holds the other."""
    ensure_schema(postgres_db)
    slept: list[float] = []
    one, two = (
        SharedWriteLimiter(postgres_db, "accesshive.test", "design", 60, sleep=slept.append)
        for _ in range(2)
    )
    try:
        waits = [(one if n % 2 else two).acquire() for n in range(6)]
        assert waits[0] == 0.0  # the burst of one
        assert all(b > a for a, b in itertools.pairwise(waits[1:]))  # a queue
        assert waits[-1] > 3.0  # five writes owed at one a second, less time gone by
        assert slept == waits[1:]
        two.pause(120)
        assert one.acquire() > 100
        other = SharedWriteLimiter(postgres_db, "accesshive.other", "design", 60)
        assert other.acquire() == 0.0  # another environment's bucket is its own
        other.close()
    finally:
        one.close()
        two.close()


def _row(url: str, queue: str) -> tuple[float, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT tokens, took FROM accesshive_write_buckets WHERE queue = %s", (queue,)
        ).fetchone()
    assert row is not None
    return float(row[0]), int(row[1])


def test_a_high_limit_takes_tokens_ahead_for_a_short_while_and_a_429_drops_them(
    postgres_db: str,
) -> None:
    """At 6,000 writes a minute a statement takes up to ``AHEAD`` tokens that are in the
    bucket: the next writes of this process cost no statement (the row is untouched),
    until ``HOLD`` has gone by (what is left is dropped, never used late) or a 429."""
    ensure_schema(postgres_db)
    now = [0.0]
    limiter = SharedWriteLimiter(
        postgres_db, "accesshive.ahead", "design", 6000, clock=lambda: now[0]
    )
    capacity, ahead = ahead_of(6000)
    assert (capacity, ahead) == (100 - 100 * HOLD, AHEAD)  # HOLD's worth kept back
    try:
        assert limiter.acquire() == 0.0  # the row is made: one token
        assert limiter.acquire() == 0.0  # the bucket is nearly full: AHEAD taken at once
        tokens, took = _row(postgres_db, "accesshive.ahead")
        assert took == AHEAD
        for _ in range(AHEAD - 1):
            assert limiter.acquire() == 0.0
        assert _row(postgres_db, "accesshive.ahead") == (tokens, took)  # no statement
        limiter.acquire()  # none left: a statement
        tokens, took = _row(postgres_db, "accesshive.ahead")
        now[0] += HOLD  # what it took is too old now
        limiter.acquire()
        assert _row(postgres_db, "accesshive.ahead")[0] != tokens  # another statement
        limiter.pause(0.001)  # a 429: nothing taken ahead is used
        before = _row(postgres_db, "accesshive.ahead")
        limiter.acquire()
        assert _row(postgres_db, "accesshive.ahead") != before
    finally:
        limiter.close()


def test_two_processes_taking_ahead_still_share_one_limit(postgres_db: str) -> None:
    """Two limiters (two workers' connections) writing as fast as 6,000 a minute lets
    them: the writes they are let through in any second are at most the one bucket's
    burst and a second's worth (two buckets would let through twice that)."""
    ensure_schema(postgres_db)
    per_minute = 6000
    rate = per_minute / 60
    limiters = [
        SharedWriteLimiter(postgres_db, "accesshive.two", "design", per_minute) for _ in range(2)
    ]
    let_through: list[float] = []
    lock = threading.Lock()

    def write(limiter: SharedWriteLimiter) -> None:
        for _ in range(250):
            limiter.acquire()
            with lock:
                let_through.append(time.monotonic())

    threads = [threading.Thread(target=write, args=(lim,)) for lim in limiters]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for lim in limiters:
            lim.close()
    times = sorted(let_through)
    most = max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))
    assert most <= max(1.0, rate) + rate * (1.0 + 0.5), most  # 0.5 s: a loaded machine
