"""Transport for the ``google_workspace`` connector: authentication, one HTTP call,
Google's error bodies, and ``pageToken`` paging. No provisioning logic lives here.

Authentication is either a service account with domain-wide delegation (google-auth
signs the JWT assertion and exchanges it at the key's ``token_uri``; the exchange
itself goes through httpx, via ``_HttpxAuthRequest``) or a static bearer token.

Errors follow Google's JSON error body::

    {"error": {"code": 403, "message": "Rate Limit Exceeded", "status": "PERMISSION_DENIED",
               "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded",
                           "message": "Rate Limit Exceeded"}]}}

and are classified as the Directory API documents them: 429, 5xx and 403 with a
rate/quota reason are retryable (``Retry-After`` kept); everything else is not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import google.auth.exceptions
import google.auth.transport
import httpx
from google.oauth2 import service_account

from accesshive.connectors.http import parse_retry_after
from accesshive.errors import ConnectorError
from accesshive.redaction import register

SCOPE_USER = "https://www.googleapis.com/auth/admin.directory.user"
SCOPE_GROUP = "https://www.googleapis.com/auth/admin.directory.group"
SCOPE_GROUP_MEMBER = "https://www.googleapis.com/auth/admin.directory.group.member"
SCOPE_LICENSING = "https://www.googleapis.com/auth/apps.licensing"

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
"""403 reasons the Directory API documents as "retry with exponential backoff"."""

MAX_RETRY_WAIT = 60.0


class GoogleApiError(ConnectorError):
    """A Google API call failed; ``status`` and ``reason`` say how (0 when no response)."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        status: int = 0,
        reason: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(source, message, retryable=retryable, retry_after=retry_after)
        self.status = status
        self.reason = reason


# ---------------------------------------------------------------------------- auth


class _AuthResponse(google.auth.transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class _HttpxAuthRequest(google.auth.transport.Request):
    """google-auth's transport interface over our httpx client (token exchange only)."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _AuthResponse:
        try:
            response = self._http.request(
                method,
                url,
                content=body,
                headers=dict(headers or {}),
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise google.auth.exceptions.TransportError(message) from exc  # type: ignore[no-untyped-call]
        return _AuthResponse(response)


class Auth:
    """Supplies the ``Authorization`` header."""

    can_refresh = False

    def header(self, http: httpx.Client) -> str:
        raise NotImplementedError

    def invalidate(self) -> None:
        """Forget the current token (after a 401)."""


class StaticToken(Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def header(self, http: httpx.Client) -> str:
        return f"Bearer {self.token}"


class ServiceAccount(Auth):
    """Domain-wide delegation: the service account acts as ``subject`` (an admin)."""

    can_refresh = True

    def __init__(
        self,
        source_id: str,
        key_json: str,
        subject: str,
        scopes: Iterable[str],
        token_uri: str | None = None,
    ) -> None:
        self.source_id = source_id
        try:
            info = json.loads(key_json)
        except ValueError:
            raise ConnectorError(
                source_id,
                "connection.credentials is not a service account JSON key "
                '(expected ${file:/path/key.json} holding {"type": "service_account", ...})',
            ) from None
        if not isinstance(info, dict) or info.get("type") != "service_account":
            raise ConnectorError(
                source_id, 'connection.credentials is not a key of "type": "service_account"'
            )
        if token_uri:
            info["token_uri"] = token_uri
        try:
            credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=sorted(set(scopes))
            )
        except (ValueError, KeyError) as exc:
            raise ConnectorError(
                source_id, f"the service account key cannot be used: {_first_line(exc)}"
            ) from None
        self.credentials = credentials.with_subject(subject)

    def header(self, http: httpx.Client) -> str:
        if not self.credentials.valid:
            try:
                self.credentials.refresh(_HttpxAuthRequest(http))
            except google.auth.exceptions.TransportError as exc:
                raise GoogleApiError(
                    self.source_id,
                    f"cannot reach the token endpoint: {_first_line(exc)}",
                    retryable=True,
                ) from None
            except google.auth.exceptions.RefreshError as exc:
                raise GoogleApiError(
                    self.source_id,
                    f"token request refused: {_refresh_message(exc)} (check the key, "
                    "connection.subject and the domain-wide delegation scopes)",
                    status=401,
                    retryable=bool(getattr(exc, "retryable", False)),
                ) from None
            register(self.credentials.token, "the service account's access token")
        return f"Bearer {self.credentials.token}"

    def invalidate(self) -> None:
        self.credentials.token = None


def _refresh_message(exc: google.auth.exceptions.RefreshError) -> str:
    first = exc.args[0] if exc.args else exc
    return _first_line(first)


# ---------------------------------------------------------------------------- client


class GoogleClient:
    """One httpx client, one auth; calls that raise ``GoogleApiError`` on failure."""

    def __init__(
        self,
        source_id: str,
        auth: Auth,
        *,
        timeout: float,
        read_retries: int,
        read_retry_delay: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source_id = source_id
        self.auth = auth
        self.timeout = timeout
        self.read_retries = read_retries
        self.read_retry_delay = read_retry_delay
        self.sleep = sleep
        self.http = httpx.Client(
            timeout=timeout,
            headers={"User-Agent": "accesshive", "Accept": "application/json"},
            follow_redirects=False,
        )
        self.secrets: set[str] = set()
        """Values never to appear in a message (scrubbed, just in case a server echoes them)."""
        if isinstance(auth, StaticToken):
            self.secrets.add(auth.token)

    def close(self) -> None:
        self.http.close()

    def scrub(self, text: str, extra: Iterable[str] = ()) -> str:
        for secret in (*self.secrets, *extra):
            if secret and secret in text:
                text = text.replace(secret, "***")
        return text

    def call(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        secrets: Iterable[str] = (),
    ) -> Any:
        """The parsed JSON response (None for an empty body), or ``GoogleApiError``.

        ``secrets`` are values in ``body`` (a password) that no message may contain.
        """
        hidden = tuple(secrets)
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(2):
            authorization = self.auth.header(self.http)
            try:
                response = self.http.request(
                    method,
                    url,
                    params=clean_params,
                    json=body,
                    headers={"Authorization": authorization},
                )
            except httpx.TimeoutException:
                raise GoogleApiError(
                    self.source_id,
                    f"{what}: no answer within {self.timeout:g}s (timed out)",
                    retryable=True,
                ) from None
            except httpx.HTTPError as exc:
                raise GoogleApiError(
                    self.source_id,
                    f"{what}: cannot reach {_origin(url)}: {self.scrub(_first_line(exc), hidden)}",
                    retryable=True,
                ) from None
            if response.status_code == 401 and attempt == 0 and self.auth.can_refresh:
                self.auth.invalidate()  # the token may have been revoked or expired early
                continue
            if response.status_code >= 400:
                raise self._error(response, what, hidden)
            if not response.content.strip():
                return None
            try:
                return response.json()
            except ValueError:
                raise GoogleApiError(
                    self.source_id,
                    f"{what}: HTTP {response.status_code} with a body that is not JSON",
                    status=response.status_code,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(
        self, response: httpx.Response, what: str, hidden: tuple[str, ...]
    ) -> GoogleApiError:
        status = response.status_code
        reason, message = _parse_error(response)
        retryable = (
            status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS)
        )
        text = f"{what}: HTTP {status} {reason}: {message}" if reason else f"{what}: HTTP {status}"
        if not reason and message:
            text += f": {message}"
        if status == 401:
            text += " (the access token was refused)"
        return GoogleApiError(
            self.source_id,
            self.scrub(text, hidden),
            status=status,
            reason=reason,
            retryable=retryable,
            retry_after=parse_retry_after(response.headers.get("Retry-After"))
            if retryable
            else None,
        )

    def pages(
        self, url: str, what: str, params: Mapping[str, Any], items: str
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's ``items`` list, following ``nextPageToken``.

        A page that fails with a retryable error is asked again (at most
        ``read_retries`` times, honouring Retry-After); any other failure raises, so
        a read never ends early as if it were complete.
        """
        token: str | None = None
        number = 0
        while True:
            number += 1
            query = {**params, "pageToken": token}
            data = self._page(url, f"{what} (page {number})", query)
            if not isinstance(data, dict):
                raise GoogleApiError(self.source_id, f"{what} (page {number}): empty response")
            found = data.get(items, [])
            if not isinstance(found, list):
                raise GoogleApiError(
                    self.source_id, f"{what} (page {number}): '{items}' is not a list"
                )
            yield found
            token = data.get("nextPageToken") or None
            if token is None:
                return

    def _page(self, url: str, what: str, params: Mapping[str, Any]) -> Any:
        attempt = 0
        while True:
            try:
                return self.call("GET", url, what, params=params)
            except GoogleApiError as exc:
                if not exc.retryable or exc.status == 0 or attempt >= self.read_retries:
                    raise
                wait = exc.retry_after
                if wait is None:
                    wait = self.read_retry_delay * (2**attempt)
                self.sleep(min(wait, MAX_RETRY_WAIT))
                attempt += 1


def _parse_error(response: httpx.Response) -> tuple[str, str]:
    """(reason, message) from Google's error body; the HTTP reason phrase otherwise."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or "")
            errors = error.get("errors")
            reason = ""
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                reason = str(errors[0].get("reason") or "")
                message = message or str(errors[0].get("message") or "")
            if not reason:
                reason = str(error.get("status") or "")
            return reason, message or response.reason_phrase
        if isinstance(error, str):  # OAuth style: {"error": "invalid_grant", ...}
            return error, str(data.get("error_description") or "")
    text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    if text.startswith("<"):
        text = ""
    return "", text or response.reason_phrase


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
