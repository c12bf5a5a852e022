"""A TCP proxy that adds network latency, for benchmarks against servers on 127.0.0.1.

A directory or SaaS app is rarely on the same machine as accesshive: every request
pays a round trip. On loopback there is none, so a client that overlaps requests
(``concurrency``) cannot show what it gains. This proxy delays every chunk by half
the round trip in each direction, in order, so a request/response pair costs the
given round-trip time, whatever the protocol (LDAP, HTTP).

    python -m tests.bench.latency_proxy --to 127.0.0.1:389 --rtt-ms 2

prints the port it listens on, on 127.0.0.1, and serves until its stdin closes.
It runs as a process of its own, so that its work is not charged to the client.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from tests.bench.serving import serving


class _End(asyncio.Protocol):
    """One end of a proxied connection (the client's, or the server's): what arrives here
    is handed to the other end ``delay`` seconds later, in order, by the event loop's
    timers alone. Why not streams and a task a direction: at one request a connection
    and two chunks a request, the tasks, queues and sleeps were most of the proxy's CPU,
    which the benchmarks' machine shares with what they measure."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.other: _End | None = None
        self.transport: asyncio.Transport | None = None
        self.early: list[bytes] = []
        """What was due here before this end was connected (the server's, connecting)."""
        self.ended = False
        self.due = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.ended:
            self.transport.close()
            return
        for data in self.early:
            self.transport.write(data)
        self.early.clear()

    def _later(self, then: Callable[..., None], *args: Any) -> None:
        """``then(*args)`` ``delay`` from now, after what this end scheduled before (timers
        due at the same instant may run in any order)."""
        loop = asyncio.get_running_loop()
        self.due = max(loop.time() + self.delay, self.due + 1e-6)
        loop.call_at(self.due, then, *args)

    def data_received(self, data: bytes) -> None:
        assert self.other is not None
        self._later(self.other.send, data)

    def connection_lost(self, exc: Exception | None) -> None:
        assert self.other is not None
        self._later(self.other.end)

    def send(self, data: bytes) -> None:
        if self.transport is None:
            self.early.append(data)
        elif not self.transport.is_closing():
            self.transport.write(data)

    def end(self) -> None:
        self.ended = True
        if self.transport is not None:
            self.transport.close()


async def _serve(host: str, port: int, rtt: float) -> None:
    loop = asyncio.get_running_loop()
    connecting: set[asyncio.Task[Any]] = set()

    def accepted() -> _End:
        client, server = _End(rtt / 2), _End(rtt / 2)
        client.other, server.other = server, client

        async def connect() -> None:
            try:
                await loop.create_connection(lambda: server, host, port)
            except OSError:
                client.end()  # the server went away

        task = loop.create_task(connect())
        connecting.add(task)
        task.add_done_callback(connecting.discard)
        return client

    listening = await loop.create_server(accepted, "127.0.0.1", 0)
    print(listening.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark is done
    listening.close()


@contextmanager
def delayed(url: str, rtt_ms: float) -> Iterator[str]:
    """``url`` (ldap://… or http://…) as seen through a proxy adding ``rtt_ms`` per round
    trip; ``url`` itself when ``rtt_ms`` is 0."""
    if rtt_ms <= 0:
        yield url
        return
    parts = urlsplit(url)
    to = f"{parts.hostname}:{parts.port}"
    with serving("-m", "tests.bench.latency_proxy", "--to", to, "--rtt-ms", str(rtt_ms)) as port:
        yield urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--to", required=True, help="host:port of the server")
    parser.add_argument("--rtt-ms", type=float, required=True)
    args = parser.parse_args()
    host, _, port = args.to.rpartition(":")
    asyncio.run(_serve(host, int(port), args.rtt_ms / 1000))


if __name__ == "__main__":
    main()
