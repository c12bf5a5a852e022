"""A scim2-server process that notes, on the server side, what the workers benchmark
checks: when each write arrived (for the rate limit, counted at the target, not in
accesshive), how many accounts each userName got (a create answered 201), and the
server's own CPU seconds (to tell whether the server is the bottleneck).

    python -m tests.bench.scim_counted OUT.json

prints ``{"url": ..., "token": ...}`` on its first line and serves until its stdin
closes; then writes OUT.json with ``writes`` (monotonic arrival times, seconds, of every
POST/PUT/PATCH/DELETE), ``created`` (userName → 201 answers), ``requests`` and
``cpu_seconds``. One process per source, so four sources use four processes (and, with
two cores, the operating system spreads them).

Served by waitress, not by the tests' wsgiref server (``tests.support.scim_server``):
wsgiref answers one request per connection (HTTP/1.0), so every request of the
benchmark cost a new TCP connection, a new server thread, and a new upstream
connection in the latency proxy: CPU a real SCIM service (HTTP/1.1, keep-alive) does
not make its clients spend, and that the benchmark charged to the machine the workers
share (about a third of its processes' CPU seconds). The application is the same
scim2-server one (``BearerTokenApplication``, in-memory storage, bearer token).
"""

from __future__ import annotations

import json
import resource
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

StartResponse = Callable[..., Any]


class Counted:
    """WSGI middleware: write arrival times and 201s to ``POST /Users`` by userName."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.writes: list[float] = []
        self.created: Counter[str] = Counter()
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        with self.lock:
            self.requests += 1
            if method != "GET":
                self.writes.append(time.monotonic())
        body_in = b""
        if method == "POST" and environ["PATH_INFO"].endswith("/Users"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body_in = environ["wsgi.input"].read(length)
            import io

            environ["wsgi.input"] = io.BytesIO(body_in)
        status: list[str] = []

        def started(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        out = list(self.app(environ, started))
        if body_in and status and status[0].startswith("201"):
            name = str(json.loads(body_in).get("userName", ""))
            with self.lock:
                self.created[name] += 1
        return out


def main() -> None:
    from scim2_server.memory import InMemoryStorage
    from scim2_server.testserver.application import BearerTokenApplication
    from waitress.server import create_server

    from tests.support.scim_server import _provider

    token = "bench-token-" + secrets.token_hex(8)
    app = BearerTokenApplication(InMemoryStorage(), _provider(), None, bearer_tokens=[token])
    seen = Counted(app)
    # threads: a source has at most its ``concurrency`` jobs (2) at once, each one connection
    server = create_server(seen, host="127.0.0.1", port=0, threads=4, ident="scim-counted")
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.effective_port}/v2"
    print(json.dumps({"url": url, "token": token}), flush=True)
    sys.stdin.read()
    server.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(sys.argv[1], "w") as out:
        json.dump(
            {
                "writes": seen.writes,
                "created": dict(seen.created),
                "requests": seen.requests,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            },
            out,
        )


if __name__ == "__main__":
    main()
