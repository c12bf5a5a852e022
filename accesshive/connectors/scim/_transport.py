"""The I/O under the ``scim`` connector: scim2-client over httpx, the client-side write
limiter, and the classification of failures (bearer and OAuth auth: ``_auth.py``).

Why this route: scim2-client 0.13 separates request building and response checking
(``SCIMClient``) from I/O; its ``BaseSyncSCIMClient`` is meant to be subclassed by
an "engine" whose only duty is ``request()``. The engine it ships speaks ``httpx2``,
a package accesshive does not depend on; ``ScimHttp`` below is the same ~20-line
engine over ``httpx`` (already a dependency). Everything SCIM — endpoints from
``/ResourceTypes``, If-Match from ``meta.version``, turning a SCIM ``Error`` into a
``SCIMException`` with its ``status``/``scimType``/``detail`` — stays scim2-client's.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import orjson
from scim2_client.client import BaseSyncSCIMClient, RawResponse
from scim2_client.errors import (
    RequestNetworkException,
    SCIMClientException,
    UnexpectedContentFormatException,
)
from scim2_models import SCIMException, ScimProvider

from accesshive.connectors.base import WriteGate
from accesshive.connectors.http import parse_retry_after
from accesshive.connectors.scim._quirks import read_leniently
from accesshive.errors import ConnectorError

DEFAULT_ENDPOINTS = {
    "/users": "urn:ietf:params:scim:schemas:core:2.0:User",
    "/groups": "urn:ietf:params:scim:schemas:core:2.0:Group",
}
"""RFC 7644 §3.2's endpoints, until /ResourceTypes says otherwise."""
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRYABLE_STATUS = frozenset({412, 429, 502, 503, 504})
"""Throttling and gateway failures: the target may well answer the same request later.
412: the resource changed between our read and our conditional write (If-Match); a
retry reads it again. 500 and 501 are not: they mean the same request fails again."""

ErrorFactory = Callable[..., ConnectorError]


# --------------------------------------------------------------------------- limiter


class WriteLimiter:
    """A token bucket shared by every connector of one source (apply runs several).

    ``per_minute`` writes a minute, in bursts of at most one second's worth; a 429
    answer pauses every writer of the source for the Retry-After the target asked.
    """

    _registry: ClassVar[dict[tuple[str, str], WriteLimiter]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        per_minute: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = per_minute / 60.0 if per_minute else None
        self.capacity = max(1.0, self.rate or 1.0)
        self.tokens = self.capacity
        self.clock, self.sleep = clock, sleep
        self.stamp = clock()
        self.paused_until = 0.0
        self.lock = threading.Lock()

    @classmethod
    def for_source(cls, key: tuple[str, str], per_minute: float | None) -> WriteLimiter:
        with cls._registry_lock:
            found = cls._registry.get(key)
            if found is None or found.rate != (per_minute / 60.0 if per_minute else None):
                found = cls._registry[key] = cls(per_minute)
            return found

    def acquire(self) -> float:
        """Wait for a write slot; return how long we waited."""
        with self.lock:
            now = self.clock()
            wait = max(0.0, self.paused_until - now)
            if self.rate is not None:
                self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
                self.stamp = now
                self.tokens -= 1.0  # reserved now, even if we have to wait for it
                if self.tokens < 0:
                    wait = max(wait, -self.tokens / self.rate)
        if wait > 0:
            self.sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        with self.lock:
            self.paused_until = max(self.paused_until, self.clock() + seconds)


# --------------------------------------------------------------------------- engine


class ScimHttp(BaseSyncSCIMClient):
    """scim2-client's sync client over an ``httpx.Client``: the only I/O it does."""

    def __init__(
        self,
        http: httpx.Client,
        provider: ScimProvider,
        limiter: WriteGate,
    ) -> None:
        super().__init__(provider=provider)
        self.http = http
        self.limiter = limiter
        self._decoded: tuple[httpx.Response, Any] | None = None
        """The last answer and its body as ``_lenient`` decoded (and fixed) it, handed to
        scim2-client by ``_parse_json``: each body is decoded once, not twice."""

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if "json" in kwargs:  # SCIM bodies carry their own media type (RFC 7644 §8.1)
            kwargs["content"] = dumps(kwargs.pop("json"))
            kwargs["headers"] = {
                **kwargs.get("headers", {}),
                "Content-Type": "application/scim+json",
            }
        if method in WRITE_METHODS:
            self.limiter.acquire()
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            network = RequestNetworkException()
            network.add_note(str(exc))
            raise network from exc
        if response.status_code == 429 and method in WRITE_METHODS:
            self.limiter.pause(retry_after(response) or 1.0)
        return self._lenient(method, url, response)

    def _lenient(self, method: str, url: str, response: httpx.Response) -> httpx.Response:
        """A 2xx JSON answer read the way its endpoint implies (``read_leniently``): its
        body, decoded once and fixed, is what scim2-client then reads (``_parse_json``).
        The answer is not rebuilt around the fixed body: nothing else reads its body."""
        if not 200 <= response.status_code < 300 or not response.content:
            return response
        path = urlsplit(url).path
        base = self.http.base_url.path.rstrip("/")
        if base and path.startswith(base + "/"):
            path = path[len(base) :]
        parts = [p for p in path.split("/") if p]
        if not parts:
            return response
        schema = self._schema_of("/" + parts[0])
        listing = (method == "GET" and len(parts) == 1) or parts[-1] == ".search"
        try:
            payload = loads(response)
        except ValueError:
            return response
        # what scim2-client reads (``_parse_json``); the answer itself stays as it came
        self._decoded = (response, read_leniently(payload, schema, listing=listing))
        return response

    def _parse_json(self, response: RawResponse) -> Any:
        """scim2-client's hook to decode an answer: the body ``_lenient`` already decoded
        when it is this answer's (a connector is used by one thread at a time; another
        answer is decoded afresh)."""
        decoded = self._decoded
        if decoded is not None and decoded[0] is response:
            self._decoded = None
            return decoded[1]
        if isinstance(response, httpx.Response):
            return loads(response)
        return json.loads(response.text)

    def read_json(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """GET ``url``, the answer checked as scim2-client checks any (``send_json``) and a
        JSON object, without building models of it: for reads whose caller needs a few
        values of a large resource (a Group's members) and checks those itself."""
        payload = self.send_json("GET", url, params=params)
        if not isinstance(payload, dict):
            raise UnexpectedContentFormatException(
                message=f"GET {url}: the answer is not a JSON object"
            )
        return payload

    def send_json(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """One request whose answer is checked as scim2-client checks any (its status, a
        SCIM ``Error`` raised as ``SCIMException``, a JSON object when there is a body)
        but not built into models: for answers the caller does not use as resources (a
        Group's answer to a member PATCH, which holds every member) or reads itself."""
        kwargs: dict[str, Any] = {"params": params} if params else {}
        if body is not None:
            kwargs["json"] = body
        if headers:
            kwargs["headers"] = headers
        response = self.request(method, url, **kwargs)
        try:
            payload = self.check_response(
                payload=self._decode_payload(response),
                status_code=response.status_code,
                headers=response.headers,
            )
        except (SCIMClientException, SCIMException) as exc:
            exc.source = response  # type: ignore[union-attr]  # as scim2-client does: classify reads it
            raise
        return payload if isinstance(payload, dict) else None

    def _schema_of(self, endpoint: str) -> str | None:
        """The core schema of the resources at ``endpoint`` (/Users, /Groups by default)."""
        for rt in self.provider.resource_types or ():
            if str(rt.endpoint).rstrip("/").lower() == endpoint.lower():
                return str(rt.schema_)
        return DEFAULT_ENDPOINTS.get(endpoint.lower())


def dumps(body: Any) -> bytes:
    """A request body as JSON (orjson; the standard library for what orjson refuses,
    such as an integer wider than 64 bits)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body).encode()


def loads(response: httpx.Response) -> Any:
    """An answer's JSON body (orjson; the standard library, from the text httpx decodes
    with the answer's charset, for what orjson refuses: a body that is not UTF-8, NaN).
    ValueError when it is not JSON."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return json.loads(response.text)


# --------------------------------------------------------------------------- failures


@dataclass(frozen=True)
class Failure:
    """What went wrong, in the target's words."""

    message: str
    retryable: bool
    status: int | None = None
    scim_type: str | None = None
    retry_after: float | None = None


def classify(exc: Exception, what: str, base_url: str) -> Failure | None:
    """A scim2-client/httpx exception as a ``Failure``; None for anything else."""
    if isinstance(exc, RequestNetworkException):
        cause = exc.__cause__
        reason = network_reason(cause) if isinstance(cause, Exception) else exc.message
        return Failure(f"{what}: cannot reach {base_url}: {reason}", retryable=True)
    response = getattr(exc, "source", None)
    if not isinstance(response, httpx.Response):
        response = None
    if isinstance(exc, SCIMException):
        status = _int(getattr(exc, "status", None)) or (response.status_code if response else None)
        scim_type = getattr(exc, "scim_type", None) or None
        detail = str(getattr(exc, "detail", "") or exc)
        if response is None:  # refused by the models before anything was sent
            return Failure(f"{what}: invalid request: {detail}", retryable=False)
        return _http_failure(what, status, scim_type, detail, response)
    if isinstance(exc, SCIMClientException):
        if response is None:
            return Failure(f"{what}: {exc.message}", retryable=False)
        text = " ".join(response.text.split())[:300]
        detail = exc.message if not text else f"{exc.message}: {text}"
        return _http_failure(what, response.status_code, None, detail, response)
    return None


def _http_failure(
    what: str, status: int | None, scim_type: str | None, detail: str, response: httpx.Response
) -> Failure:
    head = f"HTTP {status}" + (f" {scim_type}" if scim_type else "")
    message = f"{what}: {head}: {detail}"
    if status in (401, 403):
        message += " (check the credentials in connection.token or connection.oauth)"
    after = retry_after(response)
    retryable = status in RETRYABLE_STATUS
    return Failure(message, retryable, status, scim_type, after if retryable else None)


def network_reason(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    text = str(exc).strip()
    return text or type(exc).__name__


def retry_after(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
