"""The HTTP server under ``accesshive scim serve``: cheroot, with TLS, timeouts and a
graceful stop.

Why cheroot (CherryPy's WSGI server) and not waitress: both are pure Python and well
kept, but identity providers only push over HTTPS, and waitress has no TLS (it needs a
proxy in front of it for that); cheroot terminates TLS itself through the standard
``ssl`` module, so one process is a complete endpoint. It also gives what ``wsgiref``
lacked: a listen backlog that 50 providers connecting at once do not overflow, a thread
pool, a socket timeout that drops silent or slow clients, a header size limit, and a
stop that lets requests being served finish before the process exits.

Why the signal handlers only set an event: the stop itself (closing the listening
socket, waiting for the workers) runs in the main thread after the handler returns,
never inside it, so it cannot interleave with the accept loop it stops.
"""

from __future__ import annotations

import signal
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from accesshive.errors import AccessHiveError

WsgiApp = Callable[..., Iterable[bytes]]

LISTEN_BACKLOG = 128
"""Connections the kernel queues before the server accepts them. Python's socketserver
default, 5, overflowed when a provider opened 50 connections at once: the kernel then
dropped (or, with tcp_abort_on_overflow, reset) the connections past it."""

MAX_HEADER = 64 * 1024
"""Largest request head (request line and headers) accepted."""


class ServeProblem(AccessHiveError):
    """The server cannot start: a port in use, an unreadable certificate or key."""


@dataclass(frozen=True)
class ServeOptions:
    """How ``scim serve`` listens."""

    host: str = "127.0.0.1"
    port: int = 8787
    tls_cert: Path | None = None
    tls_key: Path | None = None
    timeout: float = 30.0
    """Seconds a connection may stay silent (mid-request, or idle between keep-alive
    requests) before it is closed: a stalled or slow client cannot hold a worker."""
    shutdown_timeout: float = 30.0
    """Seconds the requests in flight at SIGTERM get to finish."""
    threads: int = 16
    max_body: int = 2 * 1024 * 1024
    """cheroot's own limit: a backstop above the application's (which answers 413 with a
    SCIM error body), for bodies cheroot refuses before the application sees them."""

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _tls_adapter(options: ServeOptions) -> Any:
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    assert options.tls_cert is not None and options.tls_key is not None
    for what, path in (("certificate", options.tls_cert), ("key", options.tls_key)):
        if not path.is_file():
            raise ServeProblem(f"TLS {what} {path} is not a readable file")
    try:
        adapter = BuiltinSSLAdapter(str(options.tls_cert), str(options.tls_key))
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ServeProblem(
            f"cannot use the TLS certificate {options.tls_cert} with the key "
            f"{options.tls_key}: {exc}"
        ) from exc
    # create_default_context already refuses SSLv3 to TLS 1.1; say so where it is read
    adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
    return adapter


def serve(
    app: WsgiApp,
    options: ServeOptions,
    announce: Callable[[str], None],
    stopping: Callable[[], None] | None = None,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then stop gracefully and return.

    ``announce`` gets the base URL (with the port actually bound, for ``--port 0``)
    once the socket listens. ``stopping`` is called after the listening socket is
    closed and the requests in flight have finished."""
    from cheroot import wsgi

    if (options.tls_cert is None) != (options.tls_key is None):
        raise ServeProblem("--tls-cert and --tls-key go together: give both or neither")
    server = wsgi.Server(
        (options.host, options.port),
        app,
        numthreads=options.threads,
        request_queue_size=LISTEN_BACKLOG,
        timeout=int(max(1, options.timeout)),
        shutdown_timeout=int(max(1, options.shutdown_timeout)),
        server_name="accesshive",
    )
    server.max_request_body_size = options.max_body
    server.max_request_header_size = MAX_HEADER
    if options.tls_cert is not None:
        server.ssl_adapter = _tls_adapter(options)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            server.prepare()
        except OSError as exc:
            raise ServeProblem(f"cannot listen on {options.host}:{options.port}: {exc}") from exc
        host, port = server.bind_addr[:2]
        announce(f"{options.scheme}://{_url_host(str(host))}:{port}")

        def accept() -> None:
            try:
                server.serve()
            finally:
                stop.set()  # a crashed accept loop stops the process, it does not hang it

        serving = threading.Thread(target=accept, name="scim-serve-accept")
        serving.start()
        stop.wait()
        # closes the listening socket, then waits (up to shutdown_timeout) for the
        # workers: a request being served is answered before its worker exits
        server.stop()
        serving.join()
        if stopping is not None:
            stopping()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
