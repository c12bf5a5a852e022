"""How the ``scim`` connector authenticates: a bearer token, or OAuth 2.0 client
credentials (RFC 6749 §4.4) refreshed once on a 401, and the TLS verification setting.

Apart from the transport because it is the part a security reviewer reads: where the
token comes from, when it is renewed, and that a token endpoint's refusal names the
client and never the secret."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from accesshive.connectors.scim._transport import (
    RETRYABLE_STATUS,
    ErrorFactory,
    network_reason,
    retry_after,
)
from accesshive.redaction import register


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer``; with OAuth, a 401 refreshes the token once."""

    def __init__(self, token: Callable[[bool], str], refreshable: bool) -> None:
        self.token = token
        self.refreshable = refreshable

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token(False)}"
        response = yield request
        if response.status_code == 401 and self.refreshable:
            request.headers["Authorization"] = f"Bearer {self.token(True)}"
            yield request


@dataclass
class OAuthClientCredentials:
    """OAuth 2.0 client credentials (RFC 6749 §4.4), client authenticated with HTTP Basic
    (§2.3.1) or, with ``client_auth: body``, in the form."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None
    client_auth: str
    http: httpx.Client
    error: ErrorFactory
    _token: str | None = None
    _expires: float = 0.0

    def __call__(self, refresh: bool) -> str:
        if refresh or self._token is None or time.monotonic() >= self._expires:
            self._token, lifetime = self._fetch()
            # renew a little early so a token never expires in flight
            self._expires = time.monotonic() + max(lifetime - 30.0, lifetime / 2)
        return self._token

    def _fetch(self) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        where = f"OAuth token endpoint {self.token_url}"
        try:
            if self.client_auth == "body":
                form |= {"client_id": self.client_id, "client_secret": self.client_secret}
                response = self.http.post(self.token_url, data=form)
            else:
                basic = (self.client_id, self.client_secret)
                response = self.http.post(self.token_url, data=form, auth=basic)
        except httpx.RequestError as exc:
            raise self.error(
                f"cannot reach the {where}: {network_reason(exc)}", retryable=True
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code != 200 or not body.get("access_token"):
            said = body.get("error") or response.reason_phrase
            if body.get("error_description"):
                said = f"{said}: {body['error_description']}"
            raise self.error(
                f"the {where} refused client '{self.client_id}' (HTTP {response.status_code} "
                f"{said}); check connection.oauth",
                retryable=response.status_code in RETRYABLE_STATUS,
                retry_after=retry_after(response),
            )
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        token = str(body["access_token"])
        register(token, "the OAuth access token")  # a secret this connector obtained
        return token, lifetime


def tls_verify(value: Any, root: Path) -> bool | ssl.SSLContext:
    """``verify: true|false|path/to/ca.pem`` (relative paths start at the config root)."""
    if isinstance(value, bool):
        return value
    path = Path(str(value))
    return ssl.create_default_context(cafile=str(path if path.is_absolute() else root / path))
