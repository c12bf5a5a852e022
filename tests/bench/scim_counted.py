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
"""

from __future__ import annotations

import json
import resource
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
    import tests.support.scim_server as s

    counted: list[Counted] = []
    init = s._Running.__init__

    def counting(self: Any, app: Callable[..., Iterable[bytes]]) -> None:
        counted.append(Counted(app))
        init(self, counted[-1])

    s._Running.__init__ = counting  # type: ignore[method-assign]
    with s.scim_server() as server:
        print(json.dumps({"url": server.url, "token": server.token}), flush=True)
        sys.stdin.read()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    seen = counted[0]
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
