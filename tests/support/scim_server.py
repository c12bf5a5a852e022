"""A real SCIM 2.0 server for the tests, and a quirk proxy to put in front of it.

The server is scim2-server's own WSGI application (``BearerTokenApplication``: the
RFC schemas, in-memory storage, bearer-token auth, ETags, filters, PATCH) served
by stdlib wsgiref in a thread on 127.0.0.1 and a free port: it starts in
milliseconds, so every test gets a fresh one.

``QuirkProxy`` is a thin HTTP proxy (wsgiref too, forwarding with http.client)
that reproduces what real targets do differently from the RFC: capitalised PATCH
ops required, ``active`` as a string, no filters, no PATCH, a small maximum page
size, member removal only by replacing the list, 429 with Retry-After every N
requests, a failing page, a ``totalResults`` that does not add up. It records
every request so tests can look at what the connector sent, and serves an OAuth
2.0 token endpoint (client credentials) at ``/oauth/token``.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
from scim2_models import Pagination, ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import load_default_provider

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "date",
        "server",
    }
)

StartResponse = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Running:
    """A WSGI application served in a background thread."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.server = make_server(
            "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.port = int(self.server.server_port)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.stopped = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)


def bearer_client(url: str, token: str) -> httpx.Client:
    """A client for setting up and inspecting a test SCIM server at ``url`` (its root),
    sending ``token`` as the bearer token."""
    return httpx.Client(
        base_url=url + "/",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        verify=False,  # plain HTTP: no need to load a CA bundle for each server
    )


def free_port() -> int:
    """A port where nothing listens (bound, read, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- server


@dataclass
class ScimServer:
    url: str
    """The SCIM root, http://127.0.0.1:PORT/v2."""
    token: str
    storage: InMemoryStorage
    running: _Running
    _http: httpx.Client | None = None

    def stop(self) -> None:
        self.running.stop()
        if self._http is not None:
            self._http.close()
            self._http = None

    def http(self) -> httpx.Client:
        """A client for setting up and inspecting the server (bearer token included)."""
        if self._http is None:
            self._http = bearer_client(self.url, self.token)
        return self._http

    def _send(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http().request(
            method,
            path,
            content=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/scim+json"},
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def create_group(self, name: str, members: Iterable[str] = ()) -> str:
        body: dict[str, Any] = {"schemas": [GROUP], "displayName": name}
        if members:
            body["members"] = [{"value": m} for m in members]
        return str(self._send("POST", "Groups", body)["id"])

    def create_user(self, user_name: str, **attributes: Any) -> str:
        body = {"schemas": [USER], "userName": user_name, "active": True, **attributes}
        return str(self._send("POST", "Users", body)["id"])

    def patch(self, endpoint: str, rid: str, *operations: dict[str, Any]) -> None:
        self._send(
            "PATCH", f"{endpoint}/{rid}", {"schemas": [PATCH_OP], "Operations": list(operations)}
        )

    def get(self, endpoint: str, rid: str) -> dict[str, Any]:
        found: dict[str, Any] = self._send("GET", f"{endpoint}/{rid}")
        return found

    def members(self, group_id: str) -> list[str]:
        return sorted(m["value"] for m in self.get("Groups", group_id).get("members", []))


@functools.cache
def _provider() -> ScimProvider:
    """The RFC schemas and resource types (immutable, so built once: it takes ~0.1 s)."""
    provider = load_default_provider()
    config = provider.config
    assert config is not None
    config.authentication_schemes = [BEARER_TOKEN_SCHEME]
    return provider


@contextmanager
def scim_server(
    token: str = "test-token-5f2a", *, cursor_pages_of: int | None = None
) -> Iterator[ScimServer]:
    """A fresh scim2-server (RFC schemas, in-memory, bearer token) for one test.

    ``cursor_pages_of``: the server pages only by RFC 9865 cursor (a ``startIndex``
    answers 501), at most that many resources a page, and says so in its
    ServiceProviderConfig (scim2-server's own cursor support, sealed cursors)."""
    provider = _provider()
    service = None
    if cursor_pages_of is not None:
        assert provider.config is not None
        config = provider.config.model_copy(deep=True)
        config.pagination = Pagination(
            cursor=True,
            index=False,
            default_pagination_method=Pagination.DefaultPaginationMethod.cursor,
            max_page_size=cursor_pages_of,
        )
        provider = ScimProvider(provider.models, provider.resource_types, config, provider.policy)
        service = ScimService(provider, secret="cursor-secret-for-the-test")
    storage = InMemoryStorage()
    app = BearerTokenApplication(storage, provider, service, bearer_tokens=[token])
    running = _Running(app)
    server = ScimServer(f"http://127.0.0.1:{running.port}/v2", token, storage, running)
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- proxy


@dataclass
class Rules:
    """The quirks the proxy reproduces (all off: a transparent proxy)."""

    capitalized_ops: bool = False
    """PATCH ops must be "Add"/"Replace"/"Remove"; lowercase ones are refused (400)."""
    active_as_string: bool = False
    """``active`` must be sent as "True"/"False" (a JSON boolean is refused) and is
    answered as a string."""
    no_filter: bool = False
    """``filter=`` is refused (400 invalidFilter) and ServiceProviderConfig says so."""
    no_patch: bool = False
    """PATCH answers 501 and ServiceProviderConfig says it is not supported."""
    max_page_size: int | None = None
    """List requests get at most this many resources, whatever ``count`` asked."""
    replace_members_only: bool = False
    """PATCH remove with a ``members[...]`` filter path is refused (400)."""
    throttle_writes_every: int | None = None
    """Every N-th write answers 429 with Retry-After (and is not performed)."""
    throttle_reads_every: int | None = None
    """Every N-th list request answers 429 with Retry-After."""
    retry_after: str = "1"
    fail_page: int | None = None
    """The list request with this startIndex (> 1) answers 500."""
    total_skew: int = 0
    """Added to ``totalResults`` of /Users list responses whose startIndex >= ``skew_from``."""
    skew_from: int = 1
    broken: bool = False
    """Every request answers 503 (a gateway in trouble)."""
    oauth_clients: dict[str, str] = field(default_factory=dict)
    """client_id -> client_secret accepted by /oauth/token."""
    hide_groups: bool = False
    """/ResourceTypes leaves Group out (a target that only serves Users)."""
    hide_schema_attributes: set[str] = field(default_factory=set)
    """Attribute names left out of the /Schemas answer (a target without them)."""
    expired_cursor: bool = False
    """A list page asked for with a (non-empty) cursor answers 400 ``expiredCursor``."""
    circling_cursor: bool = False
    """A list page asked for with a cursor answers that same cursor as ``nextCursor``."""
    before_forward: Callable[[Recorded], None] | None = None
    """Called with each request just before it goes to the server (to stage races)."""


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class QuirkProxy:
    def __init__(self, backend: ScimServer, rules: Rules) -> None:
        self.backend = backend
        self.rules = rules
        self.requests: list[Recorded] = []
        self.tokens_issued = 0
        self._writes = 0
        self._reads = 0
        self._lock = threading.Lock()
        split = urlsplit(backend.url)
        self._backend_host = split.hostname or "127.0.0.1"
        self._backend_port = split.port or 80
        self.running = _Running(self)
        self.url = f"http://127.0.0.1:{self.running.port}/v2"
        self.token_url = f"http://127.0.0.1:{self.running.port}/oauth/token"

    def stop(self) -> None:
        self.running.stop()

    # ------------------------------------------------------------------ inspection

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in WRITES]

    def sent(self, method: str, path_part: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # ------------------------------------------------------------------ WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        body: Any = None
        if raw and headers.get("content-type", "").startswith("application/x-www-form"):
            body = dict(parse_qsl(raw.decode()))
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        recorded = Recorded(method, path, query, headers, body)
        with self._lock:
            self.requests.append(recorded)
        if path == "/oauth/token":
            return self._token(headers, body, start_response)
        refused = self._refuse(method, path, query, body)
        if refused is not None:
            status, payload, extra = refused
            return _json(start_response, status, payload, extra)
        if self.rules.max_page_size and method == "GET" and _is_list(path):
            asked = int(query.get("count") or self.rules.max_page_size)
            query["count"] = str(min(asked, self.rules.max_page_size))
        if self.rules.before_forward is not None:
            self.rules.before_forward(recorded)
        forward_body = raw
        if self.rules.active_as_string and isinstance(body, dict):
            forward_body = json.dumps(_active(body, to_bool=True)).encode()
        try:
            status, reply_headers, reply = self._forward(method, path, query, headers, forward_body)
        except OSError:
            start_response("502 Bad Gateway", [("Content-Type", "text/html")])
            return [b"<html><body><h1>502 Bad Gateway</h1></body></html>"]
        reply = self._rewrite(method, path, query, reply)
        start_response(
            f"{status} {http.client.responses.get(status, '')}",
            [(k, v) for k, v in reply_headers if k.lower() not in HOP_BY_HOP],
        )
        return [reply]

    def _refuse(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]] | None:
        r = self.rules
        if r.broken:
            return 503, _error(503, "the service is unavailable"), []
        with self._lock:
            if method in WRITES:
                self._writes += 1
                if r.throttle_writes_every and self._writes % r.throttle_writes_every == 0:
                    return 429, _error(429, "Too many requests"), [("Retry-After", r.retry_after)]
            elif _is_list(path):
                self._reads += 1
                if r.throttle_reads_every and self._reads % r.throttle_reads_every == 0:
                    return 429, _error(429, "Too many requests"), [("Retry-After", r.retry_after)]
        if r.fail_page and _is_list(path) and query.get("startIndex") == str(r.fail_page):
            return 500, _error(500, "internal error while reading the page"), []
        if r.expired_cursor and _is_list(path) and query.get("cursor"):
            return 400, _error(400, "the cursor has expired", "expiredCursor"), []
        if r.no_filter and "filter" in query:
            return 400, _error(400, "filtering is not supported", "invalidFilter"), []
        if method == "PATCH":
            if r.no_patch:
                return 501, _error(501, "PATCH is not supported"), []
            operations = body.get("Operations", []) if isinstance(body, dict) else []
            for operation in operations:
                op = str(operation.get("op", ""))
                if r.capitalized_ops and op not in ("Add", "Replace", "Remove"):
                    detail = f"unsupported op '{op}': use Add, Replace or Remove"
                    return 400, _error(400, detail, "invalidSyntax"), []
                target = str(operation.get("path", ""))
                if (
                    r.replace_members_only
                    and op.lower() == "remove"
                    and target.lower().startswith("members[")
                ):
                    detail = "members can only be replaced as a whole"
                    return 400, _error(400, detail, "invalidPath"), []
        if r.active_as_string and method in WRITES and _has_bool_active(body):
            detail = "active must be the string 'True' or 'False'"
            return 400, _error(400, detail, "invalidValue"), []
        return None

    def _forward(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        target = path + ("?" + urlencode(query) if query else "")
        conn = http.client.HTTPConnection(self._backend_host, self._backend_port, timeout=10)
        try:
            send = {k: v for k, v in headers.items() if k not in HOP_BY_HOP}
            conn.request(method, target, body=body or None, headers=send)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def _rewrite(self, method: str, path: str, query: dict[str, str], reply: bytes) -> bytes:
        r = self.rules
        if not reply:
            return reply
        try:
            data = json.loads(reply)
        except ValueError:
            return reply
        if not isinstance(data, dict):
            return reply
        if path.endswith("/ServiceProviderConfig"):
            if r.no_patch:
                data["patch"] = {"supported": False}
            if r.no_filter:
                data["filter"] = {"supported": False, "maxResults": 0}
        if path.endswith("/ResourceTypes") and r.hide_groups:
            data["Resources"] = [t for t in data.get("Resources", []) if t.get("name") != "Group"]
            data["totalResults"] = data["itemsPerPage"] = len(data["Resources"])
        if path.endswith("/Schemas") and r.hide_schema_attributes:
            for schema in data.get("Resources", []):
                schema["attributes"] = [
                    a
                    for a in schema.get("attributes", [])
                    if a.get("name") not in r.hide_schema_attributes
                ]
        if r.circling_cursor and query.get("cursor") and "nextCursor" in data:
            data["nextCursor"] = query["cursor"]
        start = int(query.get("startIndex") or 1)
        users = path.rstrip("/").endswith("/Users")
        if users and "totalResults" in data and r.total_skew and start >= r.skew_from:
            data["totalResults"] += r.total_skew
        if r.active_as_string:
            data = _active(data, to_bool=False)
        return json.dumps(data).encode()

    def _token(
        self, headers: dict[str, str], form: Any, start_response: StartResponse
    ) -> list[bytes]:
        form = form if isinstance(form, dict) else {}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return _json(start_response, 400, {"error": "unsupported_grant_type"})
        if not client_id or self.rules.oauth_clients.get(client_id) != secret:
            payload = {
                "error": "invalid_client",
                "error_description": "client authentication failed",
            }
            return _json(start_response, 401, payload)
        with self._lock:
            self.tokens_issued += 1
        payload = {"access_token": self.backend.token, "token_type": "Bearer", "expires_in": 3600}
        return _json(start_response, 200, payload)


@contextmanager
def quirk_proxy(backend: ScimServer, rules: Rules | None = None) -> Iterator[QuirkProxy]:
    proxy = QuirkProxy(backend, rules or Rules())
    try:
        yield proxy
    finally:
        proxy.stop()


# --------------------------------------------------------------------------- helpers


def _is_list(path: str) -> bool:
    return path.rstrip("/").endswith(("/Users", "/Groups"))


def _error(status: int, detail: str, scim_type: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        error["scimType"] = scim_type
    return error


def _json(
    start_response: StartResponse,
    status: int,
    payload: dict[str, Any],
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    ctype = "application/scim+json" if "schemas" in payload else "application/json"
    start_response(
        f"{status} {http.client.responses.get(status, '')}",
        [("Content-Type", ctype), *(headers or [])],
    )
    return [json.dumps(payload).encode()]


def _has_bool_active(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if isinstance(body.get("active"), bool):
        return True
    for operation in body.get("Operations", []):
        value = operation.get("value")
        if str(operation.get("path", "")).lower() == "active" and isinstance(value, bool):
            return True
        if isinstance(value, dict) and isinstance(value.get("active"), bool):
            return True
    return False


def _active(data: Any, *, to_bool: bool) -> Any:
    """``active`` as this target spells it: "True"/"False" out, booleans to the server."""
    if isinstance(data, list):
        return [_active(item, to_bool=to_bool) for item in data]
    if not isinstance(data, dict):
        return data
    out = {k: _active(v, to_bool=to_bool) for k, v in data.items()}
    value = out.get("active")
    if to_bool and isinstance(value, str):
        out["active"] = value.lower() == "true"
    elif not to_bool and isinstance(value, bool):
        out["active"] = "True" if value else "False"
    if (
        to_bool
        and str(out.get("path", "")).lower() == "active"
        and isinstance(out.get("value"), str)
    ):
        out["value"] = out["value"].lower() == "true"
    return out
