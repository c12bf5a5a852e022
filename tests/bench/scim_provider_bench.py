"""Load on the SCIM service provider: many identity-provider clients pushing users at once.

    python -m tests.bench.scim_provider_bench [--clients 200] [--users 10000]

Every user is pushed once by one of the clients (a thread each, its own HTTP
connection); afterwards the store must hold exactly that many user records, none
lost and none twice. Reports requests/s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PROJECT = """version: 1
name: scim-load
identity_sources:
  idp:
    kind: scim
    id: "{{ userName }}"
    attributes: {email: "{{ userName }}@example.com"}
"""


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        return


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 512


def run(clients: int, users: int, root: Path) -> dict[str, Any]:
    from click.testing import CliRunner

    from accesshive.cli import main
    from accesshive.idp.server import make_app
    from accesshive.store import open_store

    root.mkdir(parents=True)
    (root / "accesshive.yaml").write_text(PROJECT)
    token = CliRunner().invoke(
        main, ["scim", "token", "create", "--source", "idp", "-C", str(root)]
    )
    bearer = token.stdout.strip()
    with open_store(root) as store:
        server = make_server(
            "127.0.0.1", 0, make_app(store, "idp"), server_class=_Server, handler_class=_Quiet
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/v2"
        failures: list[str] = []

        def client(n: int) -> int:
            sent = 0
            headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/scim+json"}
            with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
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
        server.shutdown()
        server.server_close()
        records = [r for r in store.records("idp") if r[0] == "User"]
    names = [json.loads(body)["userName"] for _, _, body in records]
    return {
        "clients": clients,
        "users": users,
        "requests": requests,
        "seconds": round(seconds, 2),
        "requests_per_second": round(requests / seconds, 1),
        "failed_requests": len(failures),
        "stored": len(records),
        "distinct": len(set(names)),
        "exact": len(records) == users == len(set(names)) and not failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="accesshive-scim-load-"))
    try:
        print(json.dumps(run(args.clients, args.users, workdir / "repo"), indent=2))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
