"""Apply reads its sources at once: the live read before the first order (the stale-plan
check) and the refresh after the last (``apply/reads.py``), in process and with
``--workers``, each source's read still whole or failed alone.

Two real SCIM servers (scim2-server), each behind a WSGI middleware that watches the
whole reads of its users (the first page of ``GET /Users`` without a filter). That the
reads run at once is shown by a barrier, not a clock: each server's read of a round
waits at the round's barrier until the other server's read has arrived too; read one
after the other, the first would wait alone until the barrier gives up, and the test
says so. A source whose live read fails gets nothing sent (no write reaches its
server), its orders say which source could not be read, and the other source's run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.plan.planfile import read_plan
from accesshive.store import open_store
from tests.conftest import EXAMPLES
from tests.support.scim_server import ScimServer, scim_server
from tests.support.scim_sources import scim_source, token_env
from tests.support.workers import Worker, apply_workers_argv, planned

PEOPLE = 4
SOURCES = ("alpha", "beta")
WAIT = 60.0
"""Seconds a read waits at a barrier for the other source's before the barrier breaks
(only ever reached when the reads are not at once: the failure this test looks for)."""


class Reads:
    """WSGI middleware: each whole read of the users waits at the next of ``barriers``
    (shared with the other source's), or, with ``refuse``, is answered 500. Counts the
    writes that reach the server."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        barriers: list[threading.Barrier],
        refuse: bool = False,
    ) -> None:
        self.app = app
        self.barriers = barriers
        self.refuse = refuse
        self.lock = threading.Lock()
        self.reads = self.writes = 0
        self.met: list[int] = []
        """The rounds whose barrier this server's read passed (the other read was there)."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        whole = (
            method == "GET"
            and path.endswith("/Users")
            and "filter" not in query
            and query.get("startIndex", ["1"]) == ["1"]
        )
        with self.lock:
            self.writes += method != "GET"
            round_ = self.reads
            self.reads += whole
        if whole and self.refuse:
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [json.dumps({"detail": "the directory is rebuilding"}).encode()]
        if whole and round_ < len(self.barriers):
            try:
                self.barriers[round_].wait(WAIT)
            except threading.BrokenBarrierError:
                pass
            else:
                self.met.append(round_)
        return self.app(environ, start_response)


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ScimServer]]:
    with scim_server() as alpha, scim_server() as beta:
        found = {"alpha": alpha, "beta": beta}
        for name, server in found.items():
            server.create_group("staff")
            monkeypatch.setenv(token_env(name), server.token)
        yield found


def _repo(tmp_path: Path, servers: dict[str, ScimServer]) -> Path:
    root = tmp_path / "org"
    root.mkdir()
    shutil.copy(EXAMPLES / "quickstart" / "accesshive.yaml", root)
    (root / "sources").mkdir()
    for name, server in servers.items():
        (root / "sources" / f"{name}.yaml").write_text(
            scim_source(name, server.url, concurrency=2, profile=True)
        )
    lines = ["identities:"]
    for n in range(PEOPLE):
        lines += [
            f"  person{n}:",
            "    type: human",
            "    access_profiles: [alpha-staff, beta-staff]",
            "    attributes:",
            "      given_name: Person",
            f"      family_name: Test{n}",
            f"      email: person{n}@quickstart.example",
            "      department: Sales",
        ]
    (root / "identities").mkdir()
    (root / "identities" / "people.yaml").write_text("\n".join(lines) + "\n")
    return root


def _watch(
    servers: dict[str, ScimServer], rounds: int, refuse: str | None = None
) -> dict[str, Reads]:
    barriers = [threading.Barrier(len(servers) if refuse is None else 1) for _ in range(rounds)]
    watched = {}
    for name, server in servers.items():
        watched[name] = Reads(server.running.server.get_app(), barriers, refuse=name == refuse)
        server.running.server.set_app(watched[name])
    return watched


def test_in_process_apply_reads_its_sources_at_once_before_and_after_the_run(
    tmp_path: Path, servers: dict[str, ScimServer]
) -> None:
    root = _repo(tmp_path, servers)
    plan_file = planned(root, [])
    plan = read_plan(plan_file)
    assert len(plan.orders) == 2 * PEOPLE * len(SOURCES)
    watched = _watch(servers, rounds=2)

    applied = CliRunner().invoke(
        main, ["apply", str(plan_file), "-C", str(root), "--format", "json"]
    )
    assert applied.exit_code == 0, applied.output
    states = {oid: o["state"] for oid, o in json.loads(applied.output)["orders"].items()}
    assert states == {o.id: "verified" for o in plan.orders}
    # round 0: the live read before the first order; round 1: the refresh after the run
    # (it created accounts, so each source is read again whole): each met the other's
    for name, reads in watched.items():
        assert reads.met == [0, 1], f"{name}'s reads did not run at once with the other's"
    # the refresh stored what the targets hold: a plan now has nothing left to do
    with open_store(root) as store:
        latest = store.latest_snapshot()
    for name in SOURCES:
        assert len(latest.sources[name].accounts) == PEOPLE
        assert all(a.grants == ["staff"] for a in latest.sources[name].accounts)
    again = CliRunner().invoke(main, ["plan", str(root), "--format", "json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["orders"] == []


def test_on_workers_a_source_that_fails_the_live_read_gets_nothing_sent(
    tmp_path: Path, servers: dict[str, ScimServer], postgres_db: str
) -> None:
    """``apply --workers``: alpha's whole read is answered 500 while beta is read; alpha
    gets no write, each of its orders says why (naming it), beta's all run on a worker,
    and the audit's ``apply_started`` names alpha as unreadable."""
    root = _repo(tmp_path, servers)
    plan_file = planned(root, ["--store", postgres_db])
    plan = read_plan(plan_file)
    watched = _watch(servers, rounds=0, refuse="alpha")
    worker = Worker(root, postgres_db, {**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        applied = subprocess.run(
            apply_workers_argv(plan_file, root, postgres_db),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        log = worker.stop()
    assert applied.returncode == 1, applied.stderr + log
    report = json.loads(applied.stdout)
    orders = report["orders"]
    assert watched["alpha"].reads >= 1 and watched["alpha"].writes == 0
    for order in plan.orders:
        state, message = orders[order.id]["state"], orders[order.id]["message"] or ""
        if order.change.source == "beta":
            assert state == "verified", (order.id, state, message)
        elif state == "errored":  # the creates; the grants below them are blocked
            assert message.startswith("could not read alpha to check the plan is current: ")
        else:
            assert state == "blocked", (order.id, state, message)
    assert report["sources"]["alpha"]["status"] == "unreachable"
    assert len([o for o in plan.orders if orders[o.id]["state"] == "verified"]) == 2 * PEOPLE
    assert watched["beta"].writes > 0  # beta's orders ran: on the worker
    for order in plan.orders:  # the worker ran beta's jobs, and marked alpha's errored
        if order.change.source == "beta":
            assert worker.states[order.id] == "verified"
        else:
            assert worker.states.get(order.id) in (None, "errored", "blocked")
    with open_store(root, url=postgres_db) as store:
        audit = {e.event: json.loads(e.details) for e in store.audit_entries()}
    assert set(audit["apply_started"]["unreadable"]) == {"alpha"}
