"""Connector benchmark: sync and apply N accounts with 3 group grants each against the
local scim2-server (in its own process) and a throwaway slapd, beside a bare client
loop doing the same writes.

    python -m tests.bench.connectors_bench [--accounts 2000] [--kinds ldap,scim]

Reports, per connector: accounts/s read (sync), accounts/s written by apply (create +
3 grants, each verified) with one connector at a time and with four, and accounts/s of
a bare loop (ldap3 / httpx with plain SCIM JSON, no verification, no bookkeeping).
Target: accesshive's sequential write rate at least 80% of the bare loop's, and above it
once the per-source concurrency is raised. 10,000 accounts: ``--accounts 10000``.

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
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.bench.latency_proxy import delayed
from tests.bench.serving import serving

TODAY = dt.date(2026, 11, 29)
GROUPS = ("staff", "builders", "vpn-users")
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


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
            connection = {
                "url": url,
                "bind_dn": s.ADMIN_DN,
                "bind_password": "${env:BENCH_LDAP_PASSWORD}",
                "users_dn": s.PEOPLE,
                "groups_dn": s.GROUPS,
                "empty_group_member": s.NOBODY,
                "disable": {"method": "ou", "ou": s.DISABLED},
                "member_of_attribute": "memberOf",  # the test slapd runs the memberof overlay
            }
            root = _repo(workdir / f"ldap-{concurrency}", "ldap", connection, accounts, concurrency)
            timing = _accesshive(root)
            results[f"accesshive_c{concurrency}"] = timing
    if not run.bare:
        return results
    with s.slapd_server() as server, delayed(server.url, run.rtt_ms) as url:
        conn = ldap3.Connection(ldap3.Server(url), s.ADMIN_DN, s.ADMIN_PASSWORD, auto_bind=True)
        start = time.perf_counter()
        for n in range(accounts):
            dn = f"uid=b{n:05},{s.PEOPLE}"
            conn.add(
                dn,
                ["inetOrgPerson"],
                {"uid": f"b{n:05}", "cn": "b", "sn": "b", "mail": f"b{n}@x.io"},
            )
            for group in GROUPS:
                conn.modify(f"cn={group},{s.GROUPS}", {"member": [(ldap3.MODIFY_ADD, [dn])]})
        results["bare_write_seconds"] = time.perf_counter() - start
        conn.unbind()
    return results


_SERVE = """
import json, sys
from tests.support.scim_server import scim_server
with scim_server() as server:
    print(json.dumps({"url": server.url, "token": server.token}), flush=True)
    sys.stdin.read()
"""


@contextmanager
def _scim_process() -> Iterator[tuple[str, str]]:
    """scim2-server in a process of its own, as a real target is: client and server then
    each have a core, and requests in flight from several connectors can overlap."""
    with serving("-c", _SERVE) as line:
        info = json.loads(line)
        yield info["url"], info["token"]


def _scim(accounts: int, workdir: Path, run: Run) -> dict[str, Any]:
    import httpx

    results: dict[str, Any] = {}
    for concurrency in run.concurrency:
        with _scim_process() as (direct, token), delayed(direct, run.rtt_ms) as url:
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers) as http:
                for group in GROUPS:
                    http.post("/Groups", json={"schemas": [GROUP], "displayName": group})
            os.environ["BENCH_SCIM_TOKEN"] = token
            connection = {"base_url": url, "token": "${env:BENCH_SCIM_TOKEN}", "page_size": 500}
            root = _repo(workdir / f"scim-{concurrency}", "scim", connection, accounts, concurrency)
            results[f"accesshive_c{concurrency}"] = _accesshive(root)
    if not run.bare:
        return results
    with _scim_process() as (direct, token), delayed(direct, run.rtt_ms) as url:
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
            for n in range(accounts):
                user = http.post(
                    "/Users",
                    json={
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": f"b{n:05}",
                        "active": True,
                        "displayName": f"b{n:05}",
                        "emails": [{"value": f"b{n}@example.com", "primary": True}],
                    },
                ).json()
                for gid in groups:
                    http.patch(
                        f"/Groups/{gid}",
                        json={
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [
                                {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
                            ],
                        },
                    )
            results["bare_write_seconds"] = time.perf_counter() - start
    return results


def _rates(results: dict[str, Any], accounts: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in results.items():
        if isinstance(value, dict):
            out[f"{key}_write_accounts_per_s"] = round(accounts / value["write_seconds"], 1)
            out[f"{key}_read_accounts_per_s"] = round(accounts / value["read_seconds"], 1)
    if "bare_write_seconds" not in results:
        return out
    bare = accounts / results["bare_write_seconds"]
    out["bare_write_accounts_per_s"] = round(bare, 1)
    if "accesshive_c1_write_accounts_per_s" in out:
        share = out["accesshive_c1_write_accounts_per_s"] / bare
        out["sequential_share_of_bare"] = round(share, 2)
        out["target_sequential_share"] = 0.8
    return out


def main() -> None:
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
        help="skip the bare loop (on scim2-server it slows with group size: hours at 10,000)",
    )
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
    report = {}
    try:
        for kind in args.kinds.split(","):
            raw = runners[kind](args.accounts, workdir, run)
            report[kind] = {
                "accounts": args.accounts,
                "rtt_ms": args.rtt_ms,
                **_rates(raw, args.accounts),
            }
            print(json.dumps({kind: report[kind]}, indent=2), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
