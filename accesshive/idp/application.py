"""scim2-server's WSGI application, answering only identity providers that hold a token.

Why a module of its own: who may push is decided here and nowhere else. A bearer token
is checked against its hash in the store (``scim token create``): a missing, unknown,
expired or revoked one gets 401 and nothing else happens. The application also tells
the storage, from the HTTP method, whether a request writes (only writes take the
store's writer lock).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, cast

from scim2_models import (
    AuthenticationScheme,
    External,
    Reference,
    Resource,
    UnauthorizedException,
)
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.requests import ScimRequest
from scim2_server.utils import load_default_provider

from accesshive.idp.storage import Check, RecordingStorage
from accesshive.idp.tokens import token_hash
from accesshive.store import Store

BEARER = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="bearer_token",
    description="HTTP Bearer Token (accesshive scim token create)",
    spec_uri=Reference[External]("https://datatracker.ietf.org/doc/html/rfc6750"),
)


class ProviderApplication(WSGIApplication):
    def __init__(
        self,
        store: Store,
        source: str,
        lock: threading.RLock,
        on_deactivation: Callable[[dict[str, Any]], None] | None = None,
        check: Check | None = None,
    ) -> None:
        provider = load_default_provider()
        assert provider.config is not None
        provider.config.authentication_schemes = [BEARER]
        models = {
            str(rt.name): cast(type[Resource[Any]], provider.model_for(rt))
            for rt in provider.resource_types
        }
        storage = RecordingStorage(store, source, lock, models, on_deactivation, check)
        super().__init__(storage, provider)
        self.recording = storage
        self.store = store
        self.source = source
        self.lock = lock
        self._last_used: dict[int, float] = {}

    def dispatch_request(self, request: ScimRequest) -> Any:
        self.recording.writing(request.method.upper() in WRITES)
        return super().dispatch_request(request)

    def check_auth(self, request: ScimRequest) -> None:
        """401 (with a SCIM error body the identity provider shows in its provisioning
        log) for a missing, unknown, expired or revoked token; the detail says which,
        which tells nothing to someone who does not already hold the token."""
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedException(detail="a bearer token is required")
        with self.lock:
            found = self.store.token_for(self.source, token_hash(token.strip()))
            state = found.state() if found is not None else "unknown"
            if found is not None and state == "active" and self._due(found.id):
                self.store.token_used(found.id)
        if state != "active":
            raise UnauthorizedException(detail=UNAUTHORIZED[state])

    def _due(self, token_id: int) -> bool:
        """Whether this token's last use is worth writing: at most once a minute per
        token and process, so that pushes do not each add a write."""
        at = time.monotonic()
        last = self._last_used.get(token_id)
        if last is not None and at - last < LAST_USED_EVERY:
            return False
        self._last_used[token_id] = at
        return True


WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

UNAUTHORIZED = {
    "unknown": "the bearer token is not valid for this identity source",
    "expired": "the bearer token has expired: make a new one (accesshive scim token create)",
    "revoked": "the bearer token was revoked: make a new one (accesshive scim token create)",
}
LAST_USED_EVERY = 60.0
"""Seconds between two writes of a token's ``last used`` by one process."""
