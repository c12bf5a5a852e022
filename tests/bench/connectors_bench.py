"""Connector benchmark: sync and apply N accounts with 3 group grants each against the
local scim2-server (in its own process) and a throwaway slapd, beside a bare client
loop doing the same work.

    python -m tests.bench.connectors_bench [--accounts 2000] [--kinds ldap,scim]
        [--repeat N] [--format text|json] [--json-out FILE]

Reports, per connector: accounts/s read (sync), accounts/s written by apply (create +
3 grants, each verified) with one connector at a time and with four, and accounts/s of
a bare loop that does the same work: the same batching and the same read-back
(``tests.bench.scim_fair``, ``tests.bench.ldap_fair``), without accesshive's planning,
store and bookkeeping. The SCIM server counts the requests each client sent, so that
the JSON shows both sent the same kinds. Then the issue's targets, PASS or FAIL
(``tests.bench.verdicts``): SCIM apply within 1.5× the bare loop's time; SCIM sync
within 2× the client CPU of a bare httpx pager validating with scim2-models. Exit 1
when a target fails (``nox -s bench`` goes on). 10,000 accounts: ``--accounts 10000``.

On loopback there is no round trip to hide, and on a small machine client and server
share the cores, so raising concurrency mostly adds contention; ``--rtt-ms 2`` puts a
proxy adding a 2 ms round trip (a directory in the same region) in front of the server,
for the bare loop and accesshive alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.latency_proxy import delayed
from tests.bench.ldap_fair import bare_writes as bare_ldap_writes
from tests.bench.scim_fair import SERVE as SCIM_SERVE
from tests.bench.scim_fair import bare_writes as bare_scim_writes
from tests.bench.serving import serving
from tests.bench.verdicts import Verdict, report, skipped

TODAY = dt.date(2026, 11, 29)
GROUPS = ("staff", "builders", "vpn-users")
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
CLI = Path(sys.executable).parent / "accesshive"
REPO = Path(__file__).resolve().parents[2]
SCIM_APPLY_TARGET = 1.5
SCIM_SYNC_CPU_TARGET = 2.0


@dataclass(frozen=True)
class Run:
    """What to measure: the round trip added, the concurrency settings, the bare loop."""

    rtt_ms: float = 0.0
    concurrency: tuple[int, ...] = (1, 4)
    bare: bool = True


def _repo(
    root: Path, kind: str, connection: dict[str, Any], accounts: int, concurrency: int
) -> Path:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    if kind == "ldap":
        account = {
            "name_attribute": "uid",
            "create": {"uid": "{{ id }}", "cn": "{{ id }}", "sn": "{{ id }}"},
            "sync": {"mail": "{{ email }}"},
            "correlation": ["uid"],
        }
    else:
        account = {
            "name_attribute": "userName",
            "create": {"userName": "{{ id }}"},
            "sync": {"email": "{{ email }}", "displayName": "{{ id }}"},
            "correlation": ["userName"],
        }
    config = {
        "version": 1,
        "name": "connector-bench",
        "sources": {
            "target": {
                "kind": kind,
                "concurrency": concurrency,
                "connection": connection,
                "account": account,
                "entitlements": {g: {} for g in GROUPS},
            }
        },
        "access_profiles": {"all": {"source": "target", "entitlements": list(GROUPS)}},
        "policies": {"use_defaults": False},
    }
    (root / "accesshive.yaml").write_text(json.dumps(config))
    lines = ["identities:"]
    lines += [
        f"  u{n:05}: {{type: human, access_profiles: [all], "
        f"attributes: {{email: u{n}@example.com}}}}"
        for n in range(accounts)
    ]
    (root / "people.yaml").write_text("\n".join(lines) + "\n")
    return root


def _accesshive(root: Path) -> dict[str, float]:
    from click.testing import CliRunner

    from accesshive.cli import main
    from accesshive.operations import StoreRef, apply_plan, plan_repository

    runner = CliRunner()
    start = time.perf_counter()
    assert runner.invoke(main, ["sync", str(root)]).exit_code == 0
    plan = plan_repository(root, TODAY, store=StoreRef())
    start = time.perf_counter()
    result = apply_plan(root, plan, StoreRef(), TODAY, "bench")
    write = time.perf_counter() - start
    assert result.status == "complete", list(result.messages.items())[:3]
    start = time.perf_counter()
    assert runner.invoke(main, ["sync", str(root)]).exit_code == 0
    read = time.perf_counter() - start
    return {"write_seconds": write, "read_seconds": read}


def _ldap(accounts: int, workdir: Path, run: Run) -> dict[str, Any]:
    import ldap3

    from tests.support import slapd as s

    results: dict[str, Any] = {}
    for concurrency in run.concurrency:
        with s.slapd_server() as server, delayed(server.url, run.rtt_ms) as url:
            os.environ["BENCH_LDAP_PASSWORD"] = s.ADMIN_PASSWORD
            root = _repo(
                workdir / f"ldap-{concurrency}", "ldap", ldap_connection(url), accounts, concurrency
            )
            timing = _accesshive(root)
            results[f"accesshive_c{concurrency}"] = timing
    if not run.bare:
        return results
    with s.slapd_server() as server, delayed(server.url, run.rtt_ms) as url:
        conn = ldap3.Connection(ldap3.Server(url), s.ADMIN_DN, s.ADMIN_PASSWORD, auto_bind=True)
        start = time.perf_counter()
        uids = [f"b{n:05}" for n in range(accounts)]
        groups = [f"cn={g},{s.GROUPS}" for g in GROUPS]
        bare_ldap_writes(conn, s.PEOPLE, groups, uids)
        results["bare_write_seconds"] = time.perf_counter() - start
        conn.unbind()
    return results


def ldap_connection(url: str) -> dict[str, Any]:
    """The ``connection`` of an LDAP source on the test slapd (``tests.support.slapd``)."""
    from tests.support import slapd as s

    return {
        "url": url,
        "bind_dn": s.ADMIN_DN,
        "bind_password": "${env:BENCH_LDAP_PASSWORD}",
        "users_dn": s.PEOPLE,
        "groups_dn": s.GROUPS,
        "empty_group_member": s.NOBODY,
        "disable": {"method": "ou", "ou": s.DISABLED},
        "member_of_attribute": "memberOf",  # the test slapd runs the memberof overlay
    }


@contextmanager
def _scim_process(counts: Path) -> Iterator[tuple[str, str]]:
    """scim2-server in a process of its own, as a real target is: client and server then
    each have a core, and requests in flight from several connectors can overlap. When
    the block ends, ``counts`` holds the requests it answered, by method and endpoint."""
    with serving("-c", SCIM_SERVE, str(counts)) as line:
        info = json.loads(line)
        yield info["url"], info["token"]


def _child_cpu(argv: list[str], cwd: Path | None = None) -> float:
    """CPU seconds (user + system) of a command run to completion, start-up included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, capture_output=True, cwd=cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _scim(accounts: int, workdir: Path, run: Run) -> dict[str, Any]:
    import httpx

    results: dict[str, Any] = {}
    for concurrency in run.concurrency:
        counts = workdir / f"scim-{concurrency}-requests.json"
        with _scim_process(counts) as (direct, token), delayed(direct, run.rtt_ms) as url:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers) as http:
                for group in GROUPS:
                    http.post("/Groups", json={"schemas": [GROUP], "displayName": group})
            os.environ["BENCH_SCIM_TOKEN"] = token
            connection = {"base_url": url, "token": "${env:BENCH_SCIM_TOKEN}", "page_size": 500}
            root = _repo(workdir / f"scim-{concurrency}", "scim", connection, accounts, concurrency)
            results[f"accesshive_c{concurrency}"] = _accesshive(root)
            if concurrency == run.concurrency[0]:
                # sync of the N accounts just made: CLI and bare pager, each its own process
                results["sync_cpu_seconds"] = _child_cpu([str(CLI), "sync", str(root)])
                pager = [sys.executable, "-m", "tests.bench.scim_fair", "sync", url, token, "500"]
                results["bare_sync_cpu_seconds"] = _child_cpu(pager, REPO)
        results[f"accesshive_c{concurrency}"]["requests"] = json.loads(counts.read_text())
    if not run.bare:
        return results
    counts = workdir / "scim-bare-requests.json"
    with _scim_process(counts) as (direct, token), delayed(direct, run.rtt_ms) as url:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/scim+json",
        }
        with httpx.Client(base_url=url, headers=headers) as http:
            groups = [
                http.post("/Groups", json={"schemas": [GROUP], "displayName": g}).json()["id"]
                for g in GROUPS
            ]
            start = time.perf_counter()
            bare_scim_writes(http, accounts, groups)
            results["bare_write_seconds"] = time.perf_counter() - start
    results["bare_requests"] = json.loads(counts.read_text())
    return results


def _rates(results: dict[str, Any], accounts: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in results.items():
        if isinstance(value, dict) and "write_seconds" in value:
            out[f"{key}_write_accounts_per_s"] = round(accounts / value["write_seconds"], 1)
            out[f"{key}_read_accounts_per_s"] = round(accounts / value["read_seconds"], 1)
            if "requests" in value:
                out[f"{key}_requests"] = value["requests"]
    for key in ("sync_cpu_seconds", "bare_sync_cpu_seconds", "bare_requests"):
        if key in results:
            out[key] = results[key]
    if "bare_write_seconds" not in results:
        return out
    bare = accounts / results["bare_write_seconds"]
    out["bare_write_accounts_per_s"] = round(bare, 1)
    if "accesshive_c1_write_accounts_per_s" in out:
        share = out["accesshive_c1_write_accounts_per_s"] / bare
        out["sequential_share_of_bare"] = round(share, 2)
    return out


def _median(raws: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' figures as one: each number the median of its values over the runs (the
    request counts are the same in every run), anything else the first run's."""
    out: dict[str, Any] = {}
    for key, first in raws[0].items():
        values = [r[key] for r in raws if key in r]
        if isinstance(first, dict):
            out[key] = _median(values)
        elif isinstance(first, int | float) and not isinstance(first, bool):
            out[key] = statistics.median(values)
        else:
            out[key] = first
    return out


def _verdicts(kind: str, raw: dict[str, Any], accounts: int) -> list[Verdict]:
    """The issue's targets this bench measures, from one run's figures."""
    if kind != "scim":
        return []
    name = f"SCIM apply, {accounts} accounts x {len(GROUPS)} groups, vs fair bare loop"
    first = next((v for k, v in raw.items() if k.startswith("accesshive_c")), None)
    if "bare_write_seconds" in raw and first is not None:
        apply = Verdict(
            name, first["write_seconds"], raw["bare_write_seconds"], "at_most", SCIM_APPLY_TARGET
        )
    else:
        apply = skipped(name, "at_most", SCIM_APPLY_TARGET, "bare loop not run (--no-bare)")
    sync = Verdict(
        f"SCIM sync client CPU, {accounts} accounts, vs httpx+scim2-models pager",
        raw["sync_cpu_seconds"],
        raw["bare_sync_cpu_seconds"],
        "at_most",
        SCIM_SYNC_CPU_TARGET,
        what="cpu",
    )
    return [apply, sync]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--kinds", default="ldap,scim")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=0.0,
        help="network round trip to add between client and server (default 0: loopback)",
    )
    parser.add_argument(
        "--concurrency", default="1,4", help="the per-source concurrency settings to run"
    )
    parser.add_argument(
        "--no-bare",
        action="store_true",
        help="skip the bare loop",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each connector this many times and report the medians (a shared machine's "
        "load moves single runs by 2x)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--json-out", type=Path, help="also write the figures here (JSON)")
    args = parser.parse_args()
    run = Run(
        rtt_ms=args.rtt_ms,
        concurrency=tuple(int(c) for c in args.concurrency.split(",")),
        bare=not args.no_bare,
    )
    workdir = Path(tempfile.mkdtemp(prefix="accesshive-connector-bench-"))
    runners: dict[str, Callable[[int, Path, Run], dict[str, Any]]] = {
        "ldap": _ldap,
        "scim": _scim,
    }
    figures: dict[str, Any] = {}
    verdicts: list[Verdict] = []
    try:
        for kind in args.kinds.split(","):
            raws = [runners[kind](args.accounts, workdir, run) for _ in range(args.repeat)]
            raw = _median(raws)
            figures[kind] = {
                "accounts": args.accounts,
                "rtt_ms": args.rtt_ms,
                "runs": args.repeat,
                **_rates(raw, args.accounts),
            }
            verdicts += _verdicts(kind, raw, args.accounts)
            if args.format == "text":
                print(json.dumps({kind: figures[kind]}, indent=2), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report(verdicts, args.format, args.json_out, figures)


if __name__ == "__main__":
    raise SystemExit(main())
