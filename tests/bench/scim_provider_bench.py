"""Load on the SCIM service provider: many identity-provider clients pushing users at once.

    python -m tests.bench.scim_provider_bench [--clients 200] [--users 10000]
        [--replicas 2 --store postgresql://... | --store auto]

``accesshive scim serve`` runs as real processes (``--replicas`` of them, on one store;
more than one needs PostgreSQL). Every user is pushed once by one of the clients (a
thread each, its own HTTP connection, spread over the replicas); afterwards the store
must hold exactly that many user records, none lost and none twice, and no request may
get a 5xx. Reports requests/s and PASS or FAIL. ``--store auto`` starts a throwaway
PostgreSQL server for the run (as the tests do).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PROJECT = """version: 1
name: scim-load
identity_sources:
  okta:
    kind: scim
    id: "{{ userName }}"
    attributes: {email: "{{ userName }}@example.com"}
"""


def run(
    clients: int, users: int, root: Path, replicas: int = 1, store: str | None = None
) -> dict[str, Any]:
    from accesshive.store import open_store
    from tests.support.scim_serve import scim_serve, token

    root.mkdir(parents=True)
    (root / "accesshive.yaml").write_text(PROJECT)
    bearer = token(root, store=store)
    failures: list[str] = []
    with ExitStack() as stack:
        urls = [stack.enter_context(scim_serve(root, store=store)).url for _ in range(replicas)]

        def client(n: int) -> int:
            sent = 0
            headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/scim+json"}
            with httpx.Client(base_url=urls[n % replicas], headers=headers, timeout=120) as http:
                for i in range(n, users, clients):
                    body = {"schemas": [USER], "userName": f"u{i:06}"}
                    response = http.post("/Users", json=body)
                    if response.status_code != 201:
                        failures.append(f"u{i:06}: {response.status_code}")
                    sent += 1
            return sent

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            requests = sum(pool.map(client, range(clients)))
        seconds = time.perf_counter() - start
    with open_store(root, "default", store) as opened:
        records = [r for r in opened.records("okta") if r[0] == "User"]
    names = [json.loads(body)["userName"] for _, _, body in records]
    return {
        "clients": clients,
        "users": users,
        "replicas": replicas,
        "requests": requests,
        "seconds": round(seconds, 2),
        "requests_per_second": round(requests / seconds, 1),
        "failed_requests": len(failures),
        "server_errors": sum(1 for f in failures if f.split(": ")[-1].startswith("5")),
        "stored": len(records),
        "distinct": len(set(names)),
        "exact": len(records) == users == len(set(names)) and not failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument(
        "--store",
        help="postgresql://... (needed for more than one replica), or auto: a throwaway "
        "PostgreSQL server",
    )
    args = parser.parse_args()
    if args.replicas > 1 and not (args.store or "").startswith(("postgres", "auto")):
        parser.error("--replicas above 1 needs --store postgresql://... or --store auto")
    workdir = Path(tempfile.mkdtemp(prefix="accesshive-scim-load-"))
    try:
        with ExitStack() as stack:
            store = args.store
            if store == "auto":
                from tests.support.postgres import fresh_database, postgres_server

                store = fresh_database(stack.enter_context(postgres_server()), "scim_load")
            result = run(args.clients, args.users, workdir / "repo", args.replicas, store)
        print(json.dumps(result, indent=2))
        verdict = result["exact"] and result["server_errors"] == 0
        print(
            f"{result['users']:,} users from {result['clients']} clients over "
            f"{result['replicas']} replica(s): {result['stored']:,} stored, "
            f"{result['distinct']:,} distinct, {result['server_errors']} 5xx -> "
            f"{'PASS' if verdict else 'FAIL'}"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
