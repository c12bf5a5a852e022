"""``apply --workers``: three ``accesshive worker`` processes on one PostgreSQL store run a
plan's orders against a real SCIM server; one worker is SIGKILLed in the middle of a job.

The kill is placed by counting, not by a clock: the SCIM server holds every write after
the first few (a gate in front of it), so the workers stop with orders ``transmitted``;
the test kills a worker that has such an order, then opens the gate. The dead worker's
job must be taken over by another worker (its procrastinate job runs a second time),
which looks on the target before sending anything again. At the end the target holds
each account once and each grant once, every order is verified but the gated one (never
run: its grant is not on the target), each account was created by exactly one request,
a source never had more requests under way than its ``concurrency`` across the three
workers, and the audit chain is intact.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from accesshive.audit.verify import verify_log
from accesshive.cli import main
from accesshive.errors import EXIT_WAITING
from accesshive.plan.planfile import read_plan
from accesshive.store import open_store
from tests.conftest import EXAMPLES
from tests.support.scim_server import ScimServer, scim_server

PEOPLE = 30
CONCURRENCY = 4
HELD_AFTER = 6
"""Writes the SCIM server lets through before it holds the rest (until the kill)."""

DESIGN = """
sources:
  design:
    kind: scim
    owner: it-ops
    concurrency: {concurrency}
    connection:
      base_url: {url}
      token: "${{env:DESIGN_SCIM_TOKEN}}"
    account:
      name_attribute: userName
      schema:
        userName: {{type: email, required: true}}
        displayName: {{type: string}}
      create:
        userName: "{{{{ email|lower }}}}"
      sync:
        displayName: "{{{{ given_name }}}} {{{{ family_name }}}}"
      correlation: [userName]
    entitlements:
      staff: {{type: group, description: Everyone}}
      admins: {{type: group, description: Administrators, sensitive: true}}
"""

ACCESS = """
access_profiles:
  design-staff: {source: design, entitlements: [staff]}
  design-admin: {source: design, entitlements: [admins]}
roles:
  employee:
    access_profiles: [design-staff]
    members_where: {department: Sales}
  admin:
    access_profiles: [design-admin]
"""


class Gate:
    """WSGI middleware in front of the SCIM server: lets ``after`` writes through, then
    holds every write until ``opened`` is set. Counts the accounts created (201 answers
    to ``POST /Users``) and the most requests it ever had under way at once."""

    def __init__(self, app: Callable[..., Iterable[bytes]], after: int) -> None:
        self.app = app
        self.after = after
        self.opened = threading.Event()
        self.lock = threading.Lock()
        self.writes = self.held = self.created = self.busy = self.most = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        with self.lock:
            self.busy += 1
            self.most = max(self.most, self.busy)
            if method != "GET":
                self.writes += 1
                hold = self.writes > self.after
                self.held += hold
        try:
            if method != "GET" and hold:
                self.opened.wait(60)
            status: list[str] = []

            def started(code: str, headers: Any, exc_info: Any = None) -> Any:
                status.append(code)
                return start_response(code, headers, exc_info)

            body = list(self.app(environ, started))
            if method == "POST" and environ["PATH_INFO"].endswith("/Users"):
                with self.lock:
                    self.created += status[0].startswith("201")
            return body
        finally:
            with self.lock:
                self.busy -= 1


class Worker:
    """An ``accesshive worker`` process, its printed order states read as they come."""

    def __init__(self, root: Path, store: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "accesshive",
                "worker",
                "-C",
                str(root),
                "--store",
                store,
                "--heartbeat",
                "0.5",
                "--concurrency",
                "2",
                "--format",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.states: dict[str, str] = {}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            self.states[event["order"]] = event["state"]

    def transmitted(self) -> bool:
        return "transmitted" in list(self.states.values())

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with scim_server() as server:
        server.create_group("staff")
        server.create_group("admins")
        yield server


def _repo(tmp_path: Path, scim: ScimServer) -> Path:
    root = tmp_path / "org"
    root.mkdir()
    shutil.copy(EXAMPLES / "quickstart" / "accesshive.yaml", root)
    (root / "sources").mkdir()
    (root / "sources" / "design.yaml").write_text(
        DESIGN.format(concurrency=CONCURRENCY, url=scim.url)
    )
    (root / "access.yaml").write_text(ACCESS)
    lines = ["identities:"]
    for n in range(PEOPLE + 1):
        lines += [
            f"  person{n:03d}:",
            "    type: human",
            *(["    roles: [admin]"] if n == PEOPLE else []),
            "    attributes:",
            "      given_name: Person",
            f"      family_name: Test{n:03d}",
            f"      email: person{n:03d}@quickstart.example",
            "      department: Sales",
        ]
    (root / "identities").mkdir()
    (root / "identities" / "people.yaml").write_text("\n".join(lines) + "\n")
    return root


def _until(condition: Callable[[], bool], what: str, procs: list[subprocess.Popen[str]]) -> None:
    """Wait for ``condition`` (a count reached), failing early if a process died."""
    deadline = time.monotonic() + 300  # a loaded machine starts four processes slowly
    while not condition():
        for proc in procs:
            assert proc.poll() is None, f"{proc.args[3]} exited {proc.returncode} before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def test_three_workers_one_killed_apply_every_order_once(
    tmp_path: Path, scim: ScimServer, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESIGN_SCIM_TOKEN", scim.token)
    root = _repo(tmp_path, scim)
    runner = CliRunner()
    synced = runner.invoke(main, ["sync", str(root), "--store", postgres_db])
    assert synced.exit_code == 0, synced.output
    planned = runner.invoke(
        main, ["plan", str(root), "--store", postgres_db, "--out", str(root / "plan.json")]
    )
    assert planned.exit_code in (0, 2), planned.output
    plan = read_plan(root / "plan.json")
    gated = [o for o in plan.orders if o.gate is not None]
    assert len(plan.orders) == 2 * (PEOPLE + 1) + 1 and len(gated) == 1

    gate = Gate(scim.running.server.get_app(), HELD_AFTER)
    scim.running.server.set_app(gate)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [Worker(root, postgres_db, env) for _ in range(3)]
    apply = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "accesshive",
            "apply",
            str(root / "plan.json"),
            "-C",
            str(root),
            "--store",
            postgres_db,
            "--workers",
            "--takeover-after",
            "2",
            "--format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    procs = [apply, *(w.proc for w in workers)]
    try:
        _until(
            lambda: gate.held > 0 and any(w.transmitted() for w in workers),
            "a worker holding transmitted orders",
            procs,
        )
        victim = next(w for w in workers if w.transmitted())
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        gate.opened.set()
        out, err = apply.communicate(timeout=300)
    finally:
        gate.opened.set()
        if apply.poll() is None:
            apply.kill()
        logs = [w.stop() for w in workers]
    assert apply.returncode == EXIT_WAITING, err + "\n".join(logs)
    result = json.loads(out)
    states = {oid: o["state"] for oid, o in result["orders"].items()}
    assert states == {o.id: "awaiting_approval" if o.gate else "verified" for o in plan.orders}, err

    # the target: every account once, each in staff, nobody in the gated admins group
    users = scim.http().get("Users", params={"count": 1000}).json()["Resources"]
    names = Counter(u["userName"] for u in users)
    assert names == Counter(f"person{n:03d}@quickstart.example" for n in range(PEOPLE + 1))
    assert gate.created == PEOPLE + 1  # each account created by one request, never two
    groups = {g["displayName"]: g for g in scim.http().get("Groups").json()["Resources"]}
    assert sorted(m["value"] for m in groups["staff"].get("members", [])) == sorted(
        u["id"] for u in users
    )
    assert not groups["admins"].get("members")
    assert gate.most <= CONCURRENCY  # across three workers, never more than the source allows

    # the store: every order verified (but the gated one), the audit chain intact, and
    # the dead worker's job was run again by another worker
    with open_store(root, url=postgres_db) as store:
        recorded = {oid: e.state for oid, e in store.order_states(plan.digest).items()}
        assert recorded == states
        report = verify_log(store)
        assert not report.problems, report.problems
    with psycopg.connect(postgres_db) as conn:
        row = conn.execute("SELECT max(attempts) FROM procrastinate_jobs").fetchone()
    assert row is not None and row[0] >= 2, "no job was taken over from the killed worker"


def test_workers_need_the_postgresql_store_and_nothing_runs_without_it(tmp_path: Path) -> None:
    """With the default SQLite store, ``apply --workers`` is refused before anything is
    locked, recorded or sent, saying what to do."""
    root = tmp_path / "org"
    shutil.copytree(EXAMPLES / "quickstart", root, ignore=shutil.ignore_patterns(".accesshive"))
    runner = CliRunner()
    planned = runner.invoke(main, ["plan", str(root), "--out", str(root / "plan.json")])
    assert planned.exit_code in (0, 2), planned.output
    refused = runner.invoke(
        main, ["apply", str(root / "plan.json"), "-C", str(root), "--workers", "--format", "json"]
    )
    assert refused.exit_code == 1, refused.output
    error = json.loads(refused.output)["error"]
    assert "PostgreSQL store" in error["message"] and "--store" in error["message"]
    # in text, the refusal is all it says: nothing about waiting for workers first
    for command in (["apply", str(root / "plan.json"), "-C", str(root)], ["sync", str(root)]):
        told = runner.invoke(main, [*command, "--workers"])
        assert told.exit_code == 1, told.output
        assert "PostgreSQL store" in told.output, told.output
        assert "waiting for them" not in told.output and "worker` processes" not in told.output
    with open_store(root) as store:
        assert store.latest_run() is None
    assert not (root / ".accesshive" / "wiki-app.db").exists()
