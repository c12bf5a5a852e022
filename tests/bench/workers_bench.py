"""Workers benchmark (issue 21): apply of 20,000 orders over 4 SCIM sources, each behind
the latency proxy at 20 ms round trip, in process and on 1, 2 and 4 ``accesshive worker``
processes, in the same run; then 4 workers with one SIGKILLed mid-way.

    python -m tests.bench.workers_bench [--orders 20000] [--rtt-ms 20] [--modes ...]
    ACCESSHIVE_BENCH_ORDERS=2000 python -m tests.bench.workers_bench   # a smaller run
    python -m tests.bench.workers_bench --modes 4-workers --profile --workdir DIR
        # py-spy samples apply and each worker: DIR/<mode>/*.speedscope.json

Every run starts from nothing: a fresh database on one throwaway PostgreSQL, four fresh
scim2-server processes (``tests.bench.scim_counted``: one process per source, so that
the servers are not one process's threads fighting over one GIL), each behind its own
latency proxy process. Then sync and plan (not timed), then ``accesshive apply``, timed
from start to exit, as a separate process: with workers, each worker is a process of
its own with its own store and target connections, running one job at a time
(``--concurrency 1``: the workers are what is scaled).

Checked on every run, never from accesshive's own counts:

- the rate limit, at the server: each source's ``quirks.writes_per_minute`` against the
  writes the server saw arrive, in every 60 s window (the unit the limit is given in:
  at most the limit plus the bucket's one-second burst) and every 5 s window (the
  bucket's bound ``capacity + rate × (5 s + LATE)``, LATE for a write that arrives
  late after its token);
- every order verified exactly once: in the store (one ``verified`` event per order of
  the plan) and on the target (each account created by exactly one ``201`` answer, the
  group holding every account).

The ratio target: 4 workers at least 3× faster than 1. The machine has 2 cores shared
with others: the table shows each run's CPU seconds (servers, workers, apply) and how
busy the machine was, so that a run limited by CPU rather than by the round trips says so;
and, for runs with workers, how long apply ran before the first order reached a worker
and after the last (apply's own start and end, which more workers do not shorten).
Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.bench.latency_proxy import delayed
from tests.bench.serving import serving
from tests.support.scim_sources import scim_source, token_env
from tests.support.workers import worker_argv

SIZE_ENV = "ACCESSHIVE_BENCH_ORDERS"
SOURCES = 4
ORDERS_PER_PERSON = 2 * SOURCES  # on each source: create the account, grant the group
LATE = 1.0
TARGET = 3.0
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ROOT = Path(__file__).resolve().parents[2]

PROJECT = """version: 1
name: workers-bench
identity_attributes:
  email: {type: email, required: true}
"""


@dataclass(frozen=True)
class Setup:
    people: int
    rtt_ms: float
    concurrency: int
    per_minute: float
    takeover_after: float


def _repo(root: Path, urls: list[str], setup: Setup) -> Path:
    root.mkdir(parents=True)
    (root / "accesshive.yaml").write_text(PROJECT)
    (root / "sources").mkdir()
    for n, url in enumerate(urls):
        (root / "sources" / f"s{n}.yaml").write_text(
            scim_source(
                f"s{n}",
                url,
                concurrency=setup.concurrency,
                writes_per_minute=setup.per_minute,
                profile=True,
            )
        )
    profiles = ", ".join(f"s{n}-staff" for n in range(len(urls)))
    lines = ["identities:"]
    for p in range(setup.people):
        lines.append(
            f"  p{p:06d}: {{type: human, access_profiles: [{profiles}], "
            f"attributes: {{email: p{p:06d}@bench.example}}}}"
        )
    (root / "people.yaml").write_text("\n".join(lines) + "\n")
    return root


def _cli(*args: str, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "accesshive", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if done.returncode not in ok:
        raise RuntimeError(f"accesshive {args[0]} exited {done.returncode}:\n{done.stderr}")


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_waited(pid: int) -> float:
    """CPU seconds of a live process and of the children it has waited for (a PostgreSQL
    postmaster: the backends of connections that have ended)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        found.append((int(entry.name), ppid, cmdline))
    return found


def _side_cpu(pg_port: int) -> dict[str, float]:
    """CPU seconds so far of what the timed apply uses besides apply and the workers: this
    benchmark's SCIM servers and latency proxies, and the store (the PostgreSQL server
    on ``pg_port``: its postmaster, live backends and ended ones)."""

    def cpu(pid: int, waited: bool = False) -> float:
        try:
            return _cpu_waited(pid) if waited else _cpu_of(pid)
        except (OSError, ValueError, IndexError):
            return 0.0  # gone meanwhile

    procs = _processes()
    me = os.getpid()
    mine = {p: cmd for p, pp, cmd in procs if pp == me}
    masters = {p for p, _, cmd in procs if "postgres" in cmd and f"-p {pg_port} " in cmd}
    return {
        "servers": sum(cpu(p) for p, cmd in mine.items() if "tests.bench.scim_counted" in cmd),
        "proxies": sum(cpu(p) for p, cmd in mine.items() if "tests.bench.latency_proxy" in cmd),
        "store": sum(cpu(m, waited=True) for m in masters)
        + sum(cpu(p) for p, pp, _ in procs if pp in masters),
    }


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Worker:
    """An ``accesshive worker`` process; its JSON lines (order states) counted as they come."""

    def __init__(self, root: Path, store: str, env: dict[str, str], log: Path) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            worker_argv(root, store, "--concurrency", "1", "--heartbeat", "1", "--format", "json"),
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.path = log
        self.verified = 0
        self.last = ""
        self.cpu = 0.0
        self.cpu_at_start = 0.0
        """CPU seconds when the timed apply starts (its start-up and imports not counted)."""
        self.killed = False
        self.trace: list[tuple[float, str]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            state = json.loads(line)["state"]
            self.trace.append((time.monotonic(), state))
            self.last = state
            self.verified += state == "verified"

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"a worker exited: {self.path.read_text()}")
        return "running jobs" in self.path.read_text()

    def kill(self) -> None:
        self.cpu = _cpu_of(self.proc.pid) - self.cpu_at_start
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.killed = True

    def stop(self) -> None:
        if not self.killed:
            self.cpu = _cpu_of(self.proc.pid) - self.cpu_at_start
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        self.log.close()
        self.path.with_suffix(".trace").write_text("\n".join(f"{t:.3f} {s}" for t, s in self.trace))


@dataclass
class Outcome:
    mode: str
    orders: int
    wall: float = 0.0
    apply_exit: int = -1
    apply_cpu: float = 0.0
    workers_cpu: float = 0.0
    servers_cpu: list[float] = field(default_factory=list)
    machine_busy: float = 0.0
    side_cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds during the timed apply: servers, proxies, store (``_side_cpu``)."""
    machine_cpu: float = 0.0
    """CPU seconds the whole machine spent during the timed apply (every process's)."""
    writes_per_60s: list[int] = field(default_factory=list)
    writes_per_5s: list[int] = field(default_factory=list)
    rate_ok: bool = False
    verified_once: bool = False
    problems: list[str] = field(default_factory=list)
    killed_after: int | None = None
    lead_in: float | None = None
    """Seconds from apply's start to the first order state a worker reported: apply's own
    start (its live read of the sources, the plan's checks) and a first job's start."""
    lead_out: float | None = None
    """Seconds from the last order state a worker reported to apply's exit."""


def _most_in(times: list[float], window: float) -> int:
    """The most writes that arrived within any ``window`` seconds (two pointers)."""
    times = sorted(times)
    most = start = 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        most = max(most, end - start + 1)
    return most


@contextmanager
def _sources(workdir: Path, setup: Setup) -> Iterator[tuple[list[str], list[str], list[str]]]:
    """Four counted scim2-server processes, each behind its own latency proxy: yields
    (direct URLs, proxied URLs, tokens); the count files are in ``workdir``."""
    with ExitStack() as stack:
        direct, tokens, proxied = [], [], []
        for n in range(SOURCES):
            line = stack.enter_context(
                serving("-m", "tests.bench.scim_counted", str(workdir / f"s{n}.json"))
            )
            info = json.loads(line)
            direct.append(info["url"])
            tokens.append(info["token"])
        for url in direct:
            proxied.append(stack.enter_context(delayed(url, setup.rtt_ms)))
        yield direct, proxied, tokens


def _check_store(store: str, plan: dict[str, Any], outcome: Outcome) -> None:
    import psycopg

    ids = {o["id"] for o in plan["orders"]}
    with psycopg.connect(store) as conn:
        rows = conn.execute(
            "SELECT order_id, count(*) FILTER (WHERE state = 'verified') FROM order_events "
            "WHERE plan_digest = %s GROUP BY order_id",
            (plan["plan_digest"],),
        ).fetchall()
    verified = {oid: n for oid, n in rows}
    twice = [oid for oid, n in verified.items() if n > 1]
    never = sorted(oid for oid in ids if verified.get(oid, 0) == 0)
    if twice:
        outcome.problems.append(f"{len(twice)} orders verified more than once in the store")
    if never:
        outcome.problems.append(f"{len(never)} orders never verified, e.g. {never[:3]}")


def _check_target(direct: list[str], tokens: list[str], setup: Setup, outcome: Outcome) -> None:
    for n, (url, token) in enumerate(zip(direct, tokens, strict=True)):
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            groups = http.get(f"{url}/Groups").json()["Resources"]
            users = http.get(f"{url}/Users", params={"count": 0}).json()["totalResults"]
        members = len(groups[0].get("members", [])) if groups else 0
        if users != setup.people or members != setup.people:
            outcome.problems.append(
                f"source s{n}: {users} users, {members} group members, {setup.people} expected"
            )


def _check_servers(workdir: Path, setup: Setup, outcome: Outcome) -> None:
    """The rate limit and the creates, from the servers' own counts; their CPU seconds
    (start-up and the untimed sync included: a second or two each)."""
    rate = setup.per_minute / 60
    capacity = max(1.0, rate)
    ok = True
    for n in range(SOURCES):
        counts = json.loads((workdir / f"s{n}.json").read_text())
        outcome.servers_cpu.append(round(counts["cpu_seconds"], 1))
        outcome.writes_per_60s.append(_most_in(counts["writes"], 60.0))
        outcome.writes_per_5s.append(_most_in(counts["writes"], 5.0))
        ok &= outcome.writes_per_60s[-1] <= setup.per_minute + capacity
        ok &= outcome.writes_per_5s[-1] <= capacity + rate * (5.0 + LATE)
        created = counts["created"]
        again = [name for name, times in created.items() if times != 1]
        if again or len(created) != setup.people:
            outcome.problems.append(
                f"source s{n}: {len(created)} accounts created, {len(again)} more than once"
            )
    outcome.rate_ok = ok


def run_once(
    mode: str, pg: str, workdir: Path, setup: Setup, profile: str | None = None
) -> Outcome:
    from urllib.parse import urlsplit

    from tests.support.postgres import fresh_database

    pg_port = urlsplit(pg).port or 5432

    here = workdir / mode
    here.mkdir(parents=True)
    outcome = Outcome(mode, setup.people * ORDERS_PER_PERSON)
    store = fresh_database(pg, f"bench_{mode.replace('-', '_')}")
    workers: list[Worker] = []
    with _sources(here, setup) as (direct, proxied, tokens):
        for url, token in zip(direct, tokens, strict=True):
            httpx.post(
                f"{url}/Groups",
                json={"schemas": [GROUP], "displayName": "staff"},
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()
        root = _repo(here / "org", proxied, setup)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.update({token_env(f"s{n}"): t for n, t in enumerate(tokens)})
        _cli("sync", str(root), "--store", store, env=env)
        _cli("plan", str(root), "--store", store, "--out", str(root / "plan.json"), env=env)
        plan = json.loads((root / "plan.json").read_text())
        outcome.orders = len(plan["orders"])
        count = {"in-process": 0, "1-worker": 1, "2-workers": 2}.get(mode, 4)
        try:
            workers = [Worker(root, store, env, here / f"worker{n}.log") for n in range(count)]
            while not all(w.ready() for w in workers):
                time.sleep(0.1)
            for w in workers:
                w.cpu_at_start = _cpu_of(w.proc.pid)
            argv = [sys.executable, "-m", "accesshive", "apply", str(root / "plan.json")]
            if profile is not None:  # py-spy samples apply (and its threads) to a file
                argv = [profile, "record", "--format", "speedscope", "--threads", "--idle"]
                argv += ["--rate", "50", "-o", str(here / "apply.speedscope.json")]
                argv += ["--", sys.executable, "-m"]
                argv += ["accesshive", "apply", str(root / "plan.json")]
            argv += ["-C", str(root), "--store", store, "--format", "json"]
            if workers:
                argv += ["--workers", "--takeover-after", str(setup.takeover_after)]
            killer = None
            if mode == "4-workers-kill":
                killer = threading.Thread(target=_kill_mid_way, args=(workers, outcome))
                killer.start()
            spies = [  # the workers sampled too, from the apply's start to its end
                subprocess.Popen(
                    [
                        profile,
                        "record",
                        "--pid",
                        str(w.proc.pid),
                        "--format",
                        "speedscope",
                        "--idle",
                        "--rate",
                        "50",
                        "-o",
                        str(here / f"worker{n}.speedscope.json"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for n, w in enumerate(workers)
                if profile is not None
            ]
            side0 = _side_cpu(pg_port)
            busy0, total0 = _machine_busy()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start, started = time.perf_counter(), time.monotonic()
            with (here / "apply.out").open("w") as out, (here / "apply.err").open("w") as err:
                done = subprocess.run(argv, stdout=out, stderr=err, env=env, cwd=ROOT)
            outcome.wall = time.perf_counter() - start
            for spy in spies:  # py-spy writes its file when interrupted
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            ended = time.monotonic()
            traced = [t for w in workers for t, _ in w.trace]
            if traced:
                outcome.lead_in = round(min(traced) - started, 1)
                outcome.lead_out = round(ended - max(traced), 1)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            busy1, total1 = _machine_busy()
            side1 = _side_cpu(pg_port)
            outcome.side_cpu = {k: round(side1[k] - side0[k], 1) for k in side0}
            outcome.machine_busy = (busy1 - busy0) / max(1, total1 - total0)
            outcome.machine_cpu = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")
            outcome.apply_cpu = (after.ru_utime - before.ru_utime) + (
                after.ru_stime - before.ru_stime
            )
            outcome.apply_exit = done.returncode
            if killer is not None:
                killer.join()
                if outcome.killed_after is None:
                    outcome.problems.append("no worker was killed (the run ended first)")
        finally:
            for w in workers:
                w.stop()
        outcome.workers_cpu = sum(w.cpu for w in workers)
        if outcome.apply_exit != 0:
            outcome.problems.append(
                f"apply exited {outcome.apply_exit}: {(here / 'apply.err').read_text()[-2000:]}"
            )
        _check_target(direct, tokens, setup, outcome)
        _check_store(store, plan, outcome)
    _check_servers(here, setup, outcome)  # the count files are written when servers stop
    outcome.verified_once = not outcome.problems
    return outcome


def _kill_mid_way(workers: list[Worker], outcome: Outcome) -> None:
    """SIGKILL a worker once half the orders are verified, at a moment it has an order
    ``transmitted`` (sent or about to be, not yet verified): the worst moment to die."""
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        verified = sum(w.verified for w in workers)
        if verified >= outcome.orders // 2:
            for w in workers:
                if w.last == "transmitted" and w.proc.poll() is None:
                    w.kill()
                    outcome.killed_after = verified
                    return
        if all(w.proc.poll() is not None for w in workers):
            return
        time.sleep(0.005)


MODES = ("in-process", "1-worker", "2-workers", "4-workers", "4-workers-kill")


SIDES = ("servers", "proxies", "store")


def _ours(o: Outcome) -> float:
    """CPU seconds of this benchmark's own processes during the timed apply."""
    return o.apply_cpu + o.workers_cpu + sum(o.side_cpu.values())


def _table(outcomes: list[Outcome], setup: Setup) -> str:
    one = next((o.wall for o in outcomes if o.mode == "1-worker"), None)
    head = (
        f"{'mode':<15} {'orders':>7} {'wall s':>8} {'orders/s':>9} {'vs 1 worker':>11} "
        f"{'server CPU s':>22} {'workers CPU s':>13} {'apply CPU s':>11} {'machine busy':>12} "
        f"{'servers/proxies/store CPU s':>27} {'ours/machine CPU s':>18} "
        f"{'max writes/60s':>20} {'rate':>5} {'verified once':>13}"
    )
    lines = [head, "-" * len(head)]
    for o in outcomes:
        ratio = f"{one / o.wall:.2f}x" if one and o.wall else "-"
        lines.append(
            f"{o.mode:<15} {o.orders:>7} {o.wall:>8.1f} {o.orders / o.wall:>9.1f} {ratio:>11} "
            f"{'/'.join(f'{c:.0f}' for c in o.servers_cpu):>22} {o.workers_cpu:>13.1f} "
            f"{o.apply_cpu:>11.1f} {o.machine_busy:>11.0%} "
            f"{'/'.join(f'{o.side_cpu.get(k, 0):.1f}' for k in SIDES):>27} "
            f"{f'{_ours(o):.0f}/{o.machine_cpu:.0f}':>18} "
            f"{'/'.join(map(str, o.writes_per_60s)):>20} {'ok' if o.rate_ok else 'OVER':>5} "
            f"{'yes' if o.verified_once else 'NO':>13}"
        )
        if o.lead_in is not None:
            lines.append(
                f"    apply's start to the first order on a worker {o.lead_in:.1f} s, "
                f"the last order on a worker to apply's exit {o.lead_out:.1f} s"
            )
        lines += [f"    ! {p}" for p in o.problems]
    lines.append(
        f"({setup.people} people x {SOURCES} SCIM sources x (create + grant); "
        f"{setup.rtt_ms:g} ms round trip per source; concurrency {setup.concurrency} a source; "
        f"writes_per_minute {setup.per_minute:g} a source; workers run 1 job at a time; "
        "server CPU s: each server's whole life; the other CPU figures: during the timed "
        "apply; ours/machine: this benchmark's processes against every process's CPU "
        f"seconds ({os.cpu_count()} cores x wall s at most))"
    )
    return "\n".join(lines)


def verdicts(outcomes: list[Outcome]) -> list[tuple[str, bool | None, str]]:
    by = {o.mode: o for o in outcomes}
    found: list[tuple[str, bool | None, str]] = []
    if "1-worker" in by and "4-workers" in by:
        ratio = by["1-worker"].wall / by["4-workers"].wall
        found.append((f"4 workers >= {TARGET:g}x faster than 1", ratio >= TARGET, f"{ratio:.2f}x"))
    found.append(
        (
            "each source's write rate limit never exceeded (server side)",
            all(o.rate_ok for o in outcomes),
            "; ".join(f"{o.mode}: {'/'.join(map(str, o.writes_per_5s))} per 5 s" for o in outcomes),
        )
    )
    if "4-workers-kill" in by:
        kill = by["4-workers-kill"]
        found.append(
            (
                "worker SIGKILLed mid-way: every order verified once (target + store)",
                kill.verified_once and kill.killed_after is not None,
                f"killed after {kill.killed_after} verified",
            )
        )
    found.append(
        (
            "every run: every order verified once (target + store)",
            all(o.verified_once for o in outcomes),
            "",
        )
    )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--orders",
        type=int,
        default=int(os.environ.get(SIZE_ENV, "20000")),
        help=f"orders in the plan (default ${SIZE_ENV} or 20000), a multiple of 8",
    )
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=2, help="a source's concurrency")
    parser.add_argument(
        "--writes-per-minute", type=float, default=6000, help="each source's write rate limit"
    )
    parser.add_argument("--takeover-after", type=float, default=5.0)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample apply with py-spy, every thread, idle or not, 50 times a second (each "
        "run's apply.speedscope.json, in time order; keep it with --workdir)",
    )
    args = parser.parse_args()
    setup = Setup(
        people=max(1, args.orders // ORDERS_PER_PERSON),
        rtt_ms=args.rtt_ms,
        concurrency=args.concurrency,
        per_minute=args.writes_per_minute,
        takeover_after=args.takeover_after,
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="accesshive-workers-bench-"))
    from tests.support.postgres import postgres_server

    spy = None
    if args.profile:
        beside = Path(sys.executable).parent / "py-spy"
        spy = shutil.which("py-spy") or (str(beside) if beside.exists() else None)
        if spy is None:
            parser.error("--profile needs py-spy: pip install py-spy (in the dev extra)")
    outcomes: list[Outcome] = []
    try:
        with postgres_server() as pg:
            for mode in args.modes.split(","):
                print(f"-- {mode} ...", file=sys.stderr, flush=True)
                outcomes.append(run_once(mode, pg, workdir, setup, spy))
                # the table so far, after each run: a run cut short still has its figures
                print(_table(outcomes, setup), file=sys.stderr, flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(_table(outcomes, setup))
    found = verdicts(outcomes)
    for name, ok, detail in found:
        print(f"{'PASS' if ok else 'FAIL'}  {name}  {detail}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "setup": setup.__dict__,
                    "runs": [o.__dict__ for o in outcomes],
                    "verdicts": [{"name": n, "pass": ok, "detail": d} for n, ok, d in found],
                },
                indent=2,
            )
        )
    sys.exit(0 if all(ok for _, ok, _ in found) else 1)


if __name__ == "__main__":
    main()
