"""``accesshive scim serve``: a SCIM 2.0 service provider that identity providers push to.

The protocol (resources, filters, paging, PATCH, ETags, RFC errors) is
scim2-server's; accesshive adds what makes it safe to expose:
- bearer tokens checked against a hash in the store (a missing, wrong or
  revoked token gets 401 and nothing else happens);
- every change persisted to the store as an identity-source record, and audited;
- vendors' quirks accepted before parsing: Entra's capitalised PATCH ops
  ("Replace") and ``"active": "False"`` sent as a string.
On start, the records of the store are loaded back, ids kept.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    External,
    Reference,
    Resource,
    ResourceType,
    UnauthorizedException,
)
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.utils import load_default_provider

from accesshive.store import Store

BEARER = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="bearer_token",
    description="HTTP Bearer Token (accesshive scim token create)",
    spec_uri=Reference[External]("https://datatracker.ietf.org/doc/html/rfc6750"),
)


def new_token() -> tuple[str, str]:
    """A token to show once, and the hash to keep."""
    token = "ahs_" + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RecordingStorage(InMemoryStorage):
    """scim2-server's storage, with every write kept in accesshive's store and audited."""

    def __init__(
        self,
        store: Store,
        source: str,
        lock: threading.Lock,
        on_deactivation: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.source = source
        self.store_lock = lock
        self.on_deactivation = on_deactivation
        loaded = []
        for _, _, body in store.records(source):
            data = json.loads(body)
            model = _model(data)
            loaded.append(model.model_validate(data))
        self.resources = loaded

    def _persist(self, resource_type: ResourceType, resource: Resource[Any], event: str) -> None:
        body = resource.model_dump_json(by_alias=True, exclude_none=True)
        with self.store_lock:
            self.store.put_record(self.source, str(resource_type.name), str(resource.id), body)
            self.store.audit(
                "scim", event, f"{resource_type.name}/{resource.id}", {"source": self.source}
            )

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        created = super().create(resource_type, resource)
        self._persist(resource_type, created, "idp_create")
        return created

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        before = self._stored(resource_type, str(resource.id))
        was_active = getattr(before, "active", None) is not False
        updated = super().update(resource_type, resource, expected_version=expected_version)
        self._persist(resource_type, updated, "idp_update")
        if was_active and getattr(updated, "active", None) is False and self.on_deactivation:
            self.on_deactivation(updated.model_dump(mode="json", by_alias=True, exclude_none=True))
        return updated

    def delete(
        self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None
    ) -> None:
        super().delete(resource_type, resource_id, expected_version=expected_version)
        with self.store_lock:
            self.store.delete_record(self.source, str(resource_type.name), resource_id)
            self.store.audit(
                "scim", "idp_delete", f"{resource_type.name}/{resource_id}", {"source": self.source}
            )


def _model(data: dict[str, Any]) -> type[Resource[Any]]:
    from scim2_models import Group, User

    return (
        Group if "urn:ietf:params:scim:schemas:core:2.0:Group" in data.get("schemas", []) else User
    )


class ProviderApplication(WSGIApplication):
    def __init__(
        self,
        store: Store,
        source: str,
        lock: threading.Lock,
        on_deactivation: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        provider = load_default_provider()
        assert provider.config is not None
        provider.config.authentication_schemes = [BEARER]
        super().__init__(RecordingStorage(store, source, lock, on_deactivation), provider)
        self.store = store
        self.source = source
        self.lock = lock

    def check_auth(self, request: ScimRequest) -> None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise UnauthorizedException
        with self.lock:
            valid = self.store.token_valid(self.source, token_hash(token))
        if not valid:
            raise UnauthorizedException


MAX_BODY = 1024 * 1024
"""Largest request body accepted (a user or a batch of group members fits many times)."""


def _too_large(start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "413",
            "detail": f"the request body is larger than {MAX_BODY} bytes",
        }
    ).encode()
    start_response(
        "413 Payload Too Large",
        [("Content-Type", "application/scim+json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def accept_quirks(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Refuse oversized bodies; rewrite what real providers send before the RFC parser."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("PATCH", "PUT", "POST"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > MAX_BODY:
                return _too_large(start_response)
            if length > 0:
                raw = environ["wsgi.input"].read(length)
                fixed = _fix(raw)
                import io

                environ["wsgi.input"] = io.BytesIO(fixed)
                environ["CONTENT_LENGTH"] = str(len(fixed))
        return app(environ, start_response)

    return wrapped


def _fix(raw: bytes) -> bytes:
    try:
        body = json.loads(raw)
    except ValueError:
        return raw  # the RFC parser answers with the proper error
    if not isinstance(body, dict):
        return raw
    for op in body.get("Operations", []) or []:
        if isinstance(op, dict) and isinstance(op.get("op"), str):
            op["op"] = op["op"].lower()  # Entra: "Replace", "Add"
            value = op.get("value")
            if isinstance(value, dict) and isinstance(value.get("active"), str):
                value["active"] = value["active"].lower() == "true"
            if op.get("path") == "active" and isinstance(value, str):
                op["value"] = value.lower() == "true"
    if isinstance(body.get("active"), str):
        body["active"] = body["active"].lower() == "true"
    return json.dumps(body).encode()


def make_app(
    store: Store,
    source: str,
    on_deactivation: Callable[[dict[str, Any]], None] | None = None,
) -> Callable[..., Iterable[bytes]]:
    return accept_quirks(ProviderApplication(store, source, threading.Lock(), on_deactivation))
