"""Apply benchmark: 10,000 orders against the sql connector on a SQLite application database.

    python -m tests.bench.apply_bench [--orders 10000] [--workdir DIR]

Reports orders/s and the executor's own overhead per order: the wall time of the
run minus the time spent inside the connector (every connector call is timed),
divided by the orders. That overhead is bookkeeping: order states written to the
store before and after each call, the audit chain, the graph walk. Target: under
1 ms per order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TODAY = dt.date(2026, 11, 29)

PROJECT = """version: 1
name: apply-bench
sources:
  app:
    kind: sql
    concurrency: {concurrency}
    connection:
      url: sqlite:///app.db
      create_tables: true
      accounts_table: users
      grants_table: memberships
      columns: {external_id: id, enabled: active, identity: owner}
      grant_columns: {account: user_id, entitlement: team}
    account:
      name_attribute: login
      create: {login: "{{ id }}"}
      sync: {email: "{{ email }}"}
      correlation: [login]
    entitlements: {staff: {}}
access_profiles:
  base: {source: app, entitlements: [staff]}
"""


def _repo(root: Path, people: int, concurrency: int) -> Path:
    root.mkdir(parents=True)
    (root / "accesshive.yaml").write_text(PROJECT.replace("{concurrency}", str(concurrency)))
    lines = ["identities:"]
    for n in range(people):
        lines.append(
            f"  p{n:05}: {{type: human, access_profiles: [base], "
            f"attributes: {{email: p{n}@example.com}}}}"
        )
    (root / "people.yaml").write_text("\n".join(lines) + "\n")
    return root


def run(orders: int, workdir: Path, concurrency: int = 1) -> dict[str, Any]:
    from accesshive.connectors.sql import SqlConnector
    from accesshive.operations import StoreRef, apply_plan, plan_repository

    root = _repo(workdir / f"apply-{orders}-{concurrency}", orders // 2, concurrency)
    plan = plan_repository(root, TODAY, store=StoreRef())
    inside = {"seconds": 0.0, "calls": 0}
    lock = threading.Lock()
    originals = {}
    for name in ("create_account", "grant", "get_account", "read"):
        original = getattr(SqlConnector, name)
        originals[name] = original

        def timed(self: Any, *args: Any, _original: Any = original, _name: str = name) -> Any:
            start = time.perf_counter()
            try:
                result = _original(self, *args)
                if _name == "read":
                    result = list(result)  # a generator: time the whole read
                return result
            finally:
                with lock:
                    inside["seconds"] += time.perf_counter() - start
                    inside["calls"] += 1

        setattr(SqlConnector, name, timed)
    try:
        start = time.perf_counter()
        result = apply_plan(root, plan, StoreRef(), TODAY, "bench")
        wall = time.perf_counter() - start
    finally:
        for name, original in originals.items():
            setattr(SqlConnector, name, original)
    n = len(plan.orders)
    # with one connector at a time, connector calls never overlap: the rest is ours
    overhead = (wall - inside["seconds"] / concurrency) / n
    return {
        "orders": n,
        "concurrency": concurrency,
        "status": result.status,
        "wall_seconds": round(wall, 3),
        "orders_per_second": round(n / wall, 1),
        "connector_seconds_summed_over_threads": round(inside["seconds"], 3),
        "connector_calls": inside["calls"],
        "executor_overhead_ms_per_order": round(overhead * 1000, 3),
        "target_overhead_ms": 1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="per-source concurrency; 1 measures the executor's overhead exactly",
    )
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="accesshive-apply-bench-"))
    try:
        print(json.dumps(run(args.orders, workdir, args.concurrency), indent=2))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
