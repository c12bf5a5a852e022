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
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from tests.bench.serving import serving


async def _carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward what ``reader`` receives to ``writer``, each chunk ``delay`` s later."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def receive() -> None:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
        queue.put_nowait((loop.time() + delay, b""))

    receiving = asyncio.create_task(receive())
    try:
        while True:
            due, data = await queue.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        receiving.cancel()
        writer.close()


async def _serve(host: str, port: int, rtt: float) -> None:
    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
            await asyncio.gather(
                _carry(reader, up_writer, rtt / 2),
                _carry(up_reader, writer, rtt / 2),
                return_exceptions=True,
            )
        except (asyncio.CancelledError, ConnectionError):
            writer.close()  # the benchmark is over, or the server went away

    server = await asyncio.start_server(connect, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the benchmark is done
    server.close()


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
