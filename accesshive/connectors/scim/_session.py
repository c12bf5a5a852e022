"""The ``scim`` connector's session: its HTTP clients, authentication and ``ScimError``.

How it talks (see _transport.py): scim2-models builds and validates every
payload (User/Group resources, PatchOp, SearchRequest) and reads every answer;
scim2-client's sync client does the SCIM side of each exchange (endpoints from
/ResourceTypes, response checks, SCIM ``Error`` -> exception with status,
scimType and detail) over a ~20-line engine of our own on httpx. scim2-client
0.13's bundled engine needs the ``httpx2`` package, which accesshive does not
depend on; re-implementing its response checking over plain httpx would
duplicate what scim2-client already does right. Quirks rewrite a validated
payload just before it is sent, since they are what the models rightly refuse.

``ScimSession`` owns building those clients (bearer token or OAuth 2.0 client
credentials, TLS verification, the per-target write limiter), closing them, and
``call``: one scim2-client call whose every failure becomes a ``ConnectorError``
(``ScimError`` with the HTTP status and ``scimType`` when the target answered).
Refused connections, timeouts, DNS failures, 412, 429 (with Retry-After) and
502/503/504 are retryable; anything else is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError
from scim2_client.errors import SCIMClientException
from scim2_models import SCIMException, ScimProvider

from accesshive.connectors.base import WriteGate
from accesshive.connectors.references import resolve
from accesshive.connectors.scim._auth import BearerAuth, OAuthClientCredentials, tls_verify
from accesshive.connectors.scim._settings import ScimSettings
from accesshive.connectors.scim._transport import Failure, ScimHttp, WriteLimiter, classify
from accesshive.connectors.scim._values import MODELS, POLICY, _first_error
from accesshive.errors import ConnectorError

T = TypeVar("T")


class ScimError(ConnectorError):
    """A ``ConnectorError`` that remembers the HTTP status and ``scimType``."""

    def __init__(self, source: str, failure: Failure) -> None:
        super().__init__(
            source, failure.message, retryable=failure.retryable, retry_after=failure.retry_after
        )
        self.status = failure.status
        self.scim_type = failure.scim_type


def filter_refused(exc: ScimError) -> bool:
    """The target does not take this filter (then accesshive pages through instead)."""
    return exc.status == 501 or (exc.status == 400 and exc.scim_type in (None, "invalidFilter"))


def already(exc: ScimError) -> bool:
    """The target answered "already so" (a member already, a uniqueness conflict)."""
    text = exc.message.lower()
    return exc.status == 409 or (
        exc.status == 400 and (exc.scim_type == "uniqueness" or "already" in text)
    )


class ScimSession:
    """The HTTP clients of one connector and ``call``; all it knows of the source is
    ``settings``."""

    def __init__(self, settings: ScimSettings) -> None:
        self.settings = settings
        self._http: httpx.Client | None = None
        self._token_http: httpx.Client | None = None
        self._scim: ScimHttp | None = None

    def client(self) -> ScimHttp:
        if self._scim is not None:
            return self._scim
        if not self.settings.base_url.startswith(("http://", "https://")):
            raise self.settings.error(
                "connection.base_url must be the http(s) URL of the SCIM root "
                "(e.g. https://example.com/scim/v2)"
            )
        verify: bool | Any = False  # plain http: no CA bundle to load
        if self.settings.base_url.startswith("https://"):
            verify = tls_verify(
                self.settings.source.connection.get("verify", True), self.settings.context.root
            )
        self._http = httpx.Client(
            base_url=self.settings.base_url + "/",
            timeout=self.settings.timeout,
            verify=verify,
            auth=self._auth(),
            headers={"Accept": "application/scim+json", "User-Agent": "accesshive"},
        )
        per_minute = self.settings.quirks.writes_per_minute
        limiter: WriteGate
        if per_minute and self.settings.context.write_limits is not None:
            limiter = self.settings.context.write_limits(
                self.settings.source_id, per_minute
            )  # across workers
        else:
            limiter = WriteLimiter.for_source(
                (self.settings.source_id, self.settings.base_url), per_minute
            )
        self._scim = ScimHttp(self._http, ScimProvider(models=MODELS, policy=POLICY), limiter)
        self._scim.check_response_status_codes = False  # any 2xx will do; failures still raise
        return self._scim

    def _auth(self) -> httpx.Auth | None:
        conn = self.settings.source.connection
        token, oauth = conn.get("token"), conn.get("oauth")
        if token and oauth:
            raise self.settings.error("connection: give either token or oauth, not both")
        if token:
            value = str(self._secret(token))
            return BearerAuth(lambda _refresh: value, refreshable=False)
        if not oauth:
            return None
        if not isinstance(oauth, dict):
            raise self.settings.error(
                "connection.oauth must be a mapping (token_url, client_id, ...)"
            )
        missing = [k for k in ("token_url", "client_id", "client_secret") if not oauth.get(k)]
        if missing:
            raise self.settings.error(f"connection.oauth needs {', '.join(missing)}")
        unknown = sorted(
            set(oauth) - {"token_url", "client_id", "client_secret", "scope", "client_auth"}
        )
        if unknown:
            raise self.settings.error(f"connection.oauth: unknown key(s) {', '.join(unknown)}")
        client_auth = str(oauth.get("client_auth", "basic"))
        if client_auth not in ("basic", "body"):
            raise self.settings.error("connection.oauth.client_auth must be basic or body")
        token_url = str(oauth["token_url"])
        client_id = str(self._secret(oauth["client_id"]))
        client_secret = str(self._secret(oauth["client_secret"]))
        verify: bool | Any = False  # plain http: no CA bundle to load
        if token_url.startswith("https://"):
            verify = tls_verify(conn.get("verify", True), self.settings.context.root)
        self._token_http = httpx.Client(timeout=self.settings.timeout, verify=verify)
        credentials = OAuthClientCredentials(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=str(oauth["scope"]) if oauth.get("scope") else None,
            client_auth=client_auth,
            http=self._token_http,
            error=self.settings.error,
        )
        return BearerAuth(credentials, refreshable=True)

    def _secret(self, value: Any) -> Any:
        return resolve(
            value,
            self.settings.source_id,
            self.settings.context.root,
            self.settings.context.environ,
        )

    def close(self) -> None:
        for client in (self._http, self._token_http):
            if client is not None:
                client.close()
        self._http = self._token_http = None
        self._scim = None

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one scim2-client call; every failure becomes a ``ConnectorError``."""
        try:
            return fn()
        except ConnectorError:
            raise
        except (SCIMException, SCIMClientException) as exc:
            failure = classify(exc, what, self.settings.base_url)
            if failure is None:  # pragma: no cover - classify handles both families
                raise
            raise ScimError(self.settings.source_id, failure) from exc
        except ValidationError as exc:
            raise self.settings.error(f"{what}: invalid request: {_first_error(exc)}") from exc

    def optional(self, what: str, fn: Callable[[], T]) -> T | None:
        """A discovery endpoint the target may not publish (404/501) or publishes in a
        shape the models cannot read (a 2xx that does not validate): RFC defaults then."""
        try:
            return self.call(what, fn)
        except ScimError as exc:
            if exc.status in (404, 501) or (exc.status is not None and 200 <= exc.status < 300):
                return None
            raise
