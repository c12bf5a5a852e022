"""A source that goes down during ``apply --workers`` is down for every worker, and for the
apply that reports the run: its outage is counted in the store (``workers/outages.py``).

End to end: two ``accesshive worker`` processes run a plan of 300 accounts against a
real scim2-server, which is really stopped (its listening socket closed) while writes
are held in front of it, so the workers are mid-job. Every order of the source then ends
(nothing left under way); those not sent are ``errored`` with the source's message
("design is unreachable: ...; not attempted"); only a bounded handful were tried
against the dead server; and the apply's own report, which sent nothing itself, names
the source unreachable with the connection's message, read from the store.

The breaker's counting across processes, without a server: two breakers on their own
connections (two workers) add to one count; the one that did not open the source sees
it down; a success sets the count back; the next run starts afresh.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from accesshive.apply.outage import THRESHOLD
from accesshive.errors import ConnectorError
from accesshive.plan.planfile import read_plan
from accesshive.workers.engine import ensure_schema
from accesshive.workers.outages import LOOK_EVERY, SharedOutages
from tests.support.scim_sources import design_repo, design_server, design_source, people_yaml
from tests.support.workers import Gate, Worker, apply_workers_argv, planned, until

PEOPLE = 300
CONCURRENCY = 2
HELD_AFTER = 10


def _repo(tmp_path: Path, url: str) -> Path:
    """The source ``design`` at ``url``, retrying quickly; PEOPLE people in Sales."""
    retry = "{attempts: 3, initial_delay: 0.05, max_delay: 0.1}"
    design = design_source(url, concurrency=CONCURRENCY, retry=retry)
    return design_repo(tmp_path, design, people_yaml(PEOPLE))


def test_a_stopped_scim_server_is_down_for_every_worker_and_the_run(
    tmp_path: Path, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with design_server() as scim:
        monkeypatch.setenv("DESIGN_SCIM_TOKEN", scim.token)
        root = _repo(tmp_path, scim.url)
        plan = read_plan(planned(root, ["--store", postgres_db]))
        assert len(plan.orders) == 2 * PEOPLE

        gate = Gate(scim.running.server.get_app(), HELD_AFTER)
        scim.running.server.set_app(gate)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        workers = [Worker(root, postgres_db, env) for _ in range(2)]
        apply = subprocess.Popen(
            apply_workers_argv(root / "plan.json", root, postgres_db),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            until(
                lambda: gate.held > 0, "a write held mid-job", [apply, *(w.proc for w in workers)]
            )
            scim.running.stop()  # really stopped: nothing listens on its port any more
            gate.opened.set()  # the writes already inside it are answered
            out, err = apply.communicate(timeout=600)
        finally:
            gate.opened.set()
            if apply.poll() is None:
                apply.kill()
            logs = [w.stop() for w in workers]
    assert apply.returncode != 0, err
    result = json.loads(out)

    # the apply process sent nothing itself: it knows the source is down from the store
    design = result["sources"]["design"]
    assert design["status"] == "unreachable", design
    assert "refused" in design["unreachable"].lower(), design

    states = {oid: o["state"] for oid, o in result["orders"].items()}
    assert set(states) == {o.id for o in plan.orders}
    assert set(states.values()) <= {"verified", "errored", "blocked"}, err + "\n".join(logs)
    messages = {oid: o["message"] or "" for oid, o in result["orders"].items()}
    errored = [oid for oid, st in states.items() if st == "errored"]
    skipped = [oid for oid in errored if messages[oid].startswith("design is unreachable: ")]
    tried = [oid for oid in errored if oid not in skipped]
    seen = Counter(messages[oid][:60] for oid in errored)
    assert skipped and all(messages[oid].endswith("; not attempted") for oid in skipped), seen
    assert all("refused" in messages[oid].lower() for oid in skipped), seen
    # tried against the dead server: the writes let through or held (their read-back not
    # attempted), and the orders whose failures the threshold counted
    assert len(tried) <= HELD_AFTER + CONCURRENCY + THRESHOLD, seen
    assert len(skipped) >= PEOPLE - len(tried) - HELD_AFTER - CONCURRENCY, seen


def test_two_workers_count_one_outage_and_a_new_run_starts_afresh(postgres_db: str) -> None:
    ensure_schema(postgres_db)
    now = [100.0]
    one, two = (SharedOutages(postgres_db, "accesshive.test") for _ in range(2))
    try:
        a, b = one.breaker(7), two.breaker(7)
        a.clock = b.clock = lambda: now[0]
        refused = ConnectorError("design", "connect failed", retryable=True)
        refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
        assert a.down("design") is None and b.down("design") is None
        for _ in range(THRESHOLD - 2):
            a.failure("design", refused)
        b.success("design")  # b last saw no failure: nothing to set back, none written
        b.failure("design", refused)
        assert a.down("design") is None  # THRESHOLD - 1 in a row, counted across both
        a.success("design")  # an answer: the count starts again
        for n in range(THRESHOLD):
            (a if n % 2 else b).failure("design", refused)
        assert b.down("design") == "connect failed"  # b's failure opened it
        assert a.down("design") is None  # a trusts its last look for LOOK_EVERY
        now[0] += LOOK_EVERY
        assert a.down("design") == "connect failed"
        assert a.down_sources() == {"design": "connect failed"}
        a.success("design")  # once down, down for the rest of the run
        assert one.breaker(7).down("design") == "connect failed"
        assert one.breaker(8).down("design") is None  # the next run tries it afresh
    finally:
        one.close()
        two.close()
