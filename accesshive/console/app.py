"""The console's Starlette application and the server that runs it.

``make_app`` builds the routes of ``pages`` around one repository and environment;
``serve`` runs it with uvicorn, on 127.0.0.1 unless told otherwise. Every response says
that no other site may frame it or load scripts into it (Retry is a button: a page that
framed it could trick a click); a form posted from another origin is refused, and on the
loopback a request naming another host is refused (DNS rebinding).
"""

from __future__ import annotations

import datetime as dt
import errno
import ipaddress
import shlex
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from accesshive.console.security import Sessions
from accesshive.errors import AccessHiveError
from accesshive.operations import StoreRef

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Console:
    """What one console serves: a repository, an environment's store, and whether an
    operator may sign in at all (``read_only``: never, whatever token they hold)."""

    root: Path
    store: StoreRef
    today: dt.date | None = None
    """A fixed day to evaluate the configuration on (tests); default: each request's day."""
    read_only: bool = False

    def day(self) -> dt.date:
        return self.today or dt.datetime.now().date()

    def where(self) -> str:
        """What a command printed on a page needs to act on this console's repository and
        environment (`` -C DIR`` and ``--env``, ``--store`` when given), so that a hint
        copied into a shell in another directory acts on the same store."""
        args = f" -C {shlex.quote(str(self.root))}"
        if self.store.environment:
            args += f" --env {shlex.quote(self.store.environment)}"
        if self.store.url:
            args += " --store URL"
        return args


TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("accesshive.console", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


class _Guard(BaseHTTPMiddleware):
    """A form posted from another origin is refused before any route sees it (beside the
    CSRF token and the SameSite cookie: a sign-in from another site could otherwise sign
    the browser in as someone else); every response carries ``HEADERS``."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        origin = request.headers.get("origin")
        if (
            request.method not in ("GET", "HEAD")
            and origin is not None
            and urlsplit(origin).netloc != request.headers.get("host")
        ):
            response: Response = PlainTextResponse(
                "refused: a form of this console may only be sent from its own pages", 403
            )
        else:
            response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_app(console: Console, host: str = "127.0.0.1") -> Starlette:
    """The application; listening on a loopback ``host``, it answers only requests whose
    ``Host`` names the loopback (a page of another site that rebinds its own name to
    127.0.0.1 then reads nothing)."""
    from accesshive.console.cache import Overviews
    from accesshive.console.pages import routes

    middleware = [Middleware(_Guard)]
    if _loopback(host):
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_NAMES))
    app = Starlette(routes=routes(), middleware=middleware)
    app.state.console = console
    app.state.sessions = Sessions()  # a new secret per process: a restart signs everyone out
    app.state.overviews = Overviews()
    return app


def serve(console: Console, host: str, port: int, ready: Callable[[str], None]) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM). The socket is bound and listening
    before ``ready`` is told the URL (port 0: a free port), so the URL answers at once."""
    import uvicorn

    sock = _listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    ready(f"http://{shown}:{sock.getsockname()[1]}/")
    config = uvicorn.Config(make_app(console, host), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, or an error naming them and what to do (the
    OS alone says "Address already in use" or "Name or service not known", not which)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise AccessHiveError(_cannot_listen(host, port, exc)) from exc
    return sock


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    where = f"cannot listen on {host}:{port}"
    if isinstance(exc, socket.gaierror):
        return (
            f"{where}: '{host}' is not a host name or address this machine can resolve "
            f"({exc.strerror}); give --host an address of this machine, such as 127.0.0.1"
        )
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where}: port {port} is already in use (another console, or another program); "
            "give another --port, or --port 0 for any free one"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{where}: {host} is not an address of this machine ({exc.strerror}); give --host "
            "an address of this machine, such as 127.0.0.1"
        )
    return f"{where}: {exc.strerror or exc}; give another --host or --port"
