"""``accesshive scim serve``: a SCIM 2.0 service provider that identity providers push to.

The protocol (resources, filters, paging, PATCH, ETags, RFC errors) is
scim2-server's; accesshive adds what makes it safe to expose:
- bearer tokens checked against a hash in the store (a missing, wrong or
  revoked token gets 401 and nothing else happens);
- every change persisted to the store as an identity-source record, and audited;
- a user whose values the identity source cannot map (a GUID for an integer attribute)
  refused with 400 invalidValue naming the attribute, before anything is stored;
- vendors' quirks accepted before parsing (``_fix``): Entra's capitalised PATCH ops
  ("Replace"), ``"active": "False"`` sent as a string, members removed by value, the
  ADSCIM Group schema, ``manager`` as a plain id and attribute paths as the keys of a
  path-less replace;
- bodies nested deeper than any resource refused with 400 (not a RecursionError).
On start, the records of the store are loaded back, ids kept.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    External,
    Group,
    InvalidValueException,
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


Check = Callable[[dict[str, Any], list[str]], None]
"""Raises ``RecordProblem`` for a user (as JSON, and the names of its groups) that the
identity source cannot map (``accesshive.idp.merge.check_user``)."""


class RecordingStorage(InMemoryStorage):
    """scim2-server's storage, with every write kept in accesshive's store and audited."""

    def __init__(
        self,
        store: Store,
        source: str,
        lock: threading.Lock,
        on_deactivation: Callable[[dict[str, Any]], None] | None = None,
        check: Check | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.source = source
        self.store_lock = lock
        self.on_deactivation = on_deactivation
        self.check = check
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

    def _check(self, resource: Resource[Any]) -> None:
        """Refuse (400 invalidValue, nothing stored) a user the identity source cannot map."""
        if self.check is None or isinstance(resource, Group):
            return
        rid = str(resource.id) if resource.id else None
        groups = [
            str(g.display_name)
            for g in self.resources
            if isinstance(g, Group) and rid and any(m.value == rid for m in g.members or [])
        ]
        from accesshive.idp.merge import RecordProblem

        try:
            self.check(resource.model_dump(mode="json", by_alias=True, exclude_none=True), groups)
        except RecordProblem as exc:
            raise InvalidValueException(
                detail=f"identity source '{self.source}' cannot map this user: {exc}",
                attribute=exc.attribute,
            ) from exc

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        self._check(resource)
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
        self._check(resource)
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
        check: Check | None = None,
    ) -> None:
        provider = load_default_provider()
        assert provider.config is not None
        provider.config.authentication_schemes = [BEARER]
        storage = RecordingStorage(store, source, lock, on_deactivation, check)
        super().__init__(storage, provider)
        self.store = store
        self.source = source
        self.lock = lock
        self._last_used: dict[int, float] = {}

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


UNAUTHORIZED = {
    "unknown": "the bearer token is not valid for this identity source",
    "expired": "the bearer token has expired: make a new one (accesshive scim token create)",
    "revoked": "the bearer token was revoked: make a new one (accesshive scim token create)",
}
LAST_USED_EVERY = 60.0
"""Seconds between two writes of a token's ``last used`` by one process."""


MAX_BODY = 1024 * 1024
"""Largest request body accepted (a user or a batch of group members fits many times)."""


def _error(
    start_response: Callable[..., Any], status: str, detail: str, **extra: str
) -> Iterable[bytes]:
    """An RFC 7644 error answered before scim2-server sees the request."""
    body = json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": status.split()[0],
            **extra,
            "detail": detail,
        }
    ).encode()
    start_response(
        status, [("Content-Type", "application/scim+json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _too_large(start_response: Callable[..., Any]) -> Iterable[bytes]:
    return _error(
        start_response, "413 Payload Too Large", f"the request body is larger than {MAX_BODY} bytes"
    )


class _TooDeep(ValueError):
    """A body nested deeper than any SCIM resource."""


def accept_quirks(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Refuse oversized or absurdly nested bodies; rewrite what real providers send before
    the RFC parser."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("PATCH", "PUT", "POST"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
            if length > MAX_BODY:
                return _too_large(start_response)
            if length > 0 or chunked:
                # a chunked body has no length to check first: read one byte past the limit
                raw = environ["wsgi.input"].read(length if length > 0 else MAX_BODY + 1)
                if len(raw) > MAX_BODY:
                    return _too_large(start_response)
                try:
                    fixed = _fix(raw)
                except _TooDeep:
                    return _error(
                        start_response,
                        "400 Bad Request",
                        f"the request body is nested deeper than {MAX_DEPTH} levels",
                        scimType="invalidSyntax",
                    )
                environ["wsgi.input"] = io.BytesIO(fixed)
                environ["CONTENT_LENGTH"] = str(len(fixed))
        return app(environ, start_response)

    return wrapped


MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted (a SCIM resource needs about five)."""

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
IGNORED_SCHEMAS = frozenset(
    {
        # Entra's Group create names it; it defines no attribute accesshive reads
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
    }
)


def _depth_ok(raw: bytes) -> bool:
    """Whether brackets (outside strings) nest at most MAX_DEPTH deep, without recursion."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def _fix(raw: bytes) -> bytes:
    if not _depth_ok(raw):
        raise _TooDeep
    try:
        body = json.loads(raw)
    except ValueError:
        return raw  # the RFC parser answers with the proper error
    if not isinstance(body, dict):
        return raw
    if isinstance(body.get("schemas"), list):
        body["schemas"] = [s for s in body["schemas"] if s not in IGNORED_SCHEMAS]
        for urn in IGNORED_SCHEMAS:
            body.pop(urn, None)
    _fix_resource(body)
    if isinstance(body.get("Operations"), list):
        body["Operations"] = [fixed for op in body["Operations"] for fixed in _fix_op(op)]
    return json.dumps(body).encode()


def _boolean(value: object) -> object:
    """Entra's string booleans ("True", "False") as booleans; anything else as it came."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _manager(value: object) -> object:
    """Entra sends the enterprise ``manager`` as the manager's plain id."""
    return {"value": value} if isinstance(value, str) else value


def _fix_resource(body: dict[str, Any]) -> None:
    """A whole resource (POST, PUT, or a path-less PATCH value) as the RFC parser reads it."""
    if "active" in body:
        body["active"] = _boolean(body["active"])
    extension = body.get(ENTERPRISE)
    if isinstance(extension, dict) and "manager" in extension:
        extension["manager"] = _manager(extension["manager"])


def _split_key(key: str) -> bool:
    """Whether a key of a path-less PATCH value is an attribute path, not an attribute:
    Entra's ``name.givenName``, ``emails[type eq "work"].value`` or
    ``urn:…:enterprise:2.0:User:employeeNumber``."""
    if "[" in key:
        return True
    if key.startswith("urn:"):
        return key.rsplit(":", 1)[0].startswith("urn:ietf:params:scim:schemas:") and not (
            key.endswith(":User") or key.endswith(":Group")
        )
    return "." in key


def _fix_op(op: object) -> list[object]:
    """One PATCH operation as the RFC parser reads it (sometimes as several)."""
    if not isinstance(op, dict) or not isinstance(op.get("op"), str):
        return [op]
    op["op"] = op["op"].lower()  # Entra: "Replace", "Add", "Remove"
    path, value = op.get("path"), op.get("value")
    if isinstance(path, str):
        bare = path.removeprefix(ENTERPRISE + ":")
        if path == "active":
            op["value"] = _boolean(value)
        elif bare == "manager" and path != bare:
            op["value"] = _manager(value)
        if op["op"] == "remove" and path == "members" and isinstance(value, list):
            # Entra removes members by value: one filtered remove per member (RFC 7644 3.5.2.2)
            ids = [m.get("value") for m in value if isinstance(m, dict)]
            if ids and all(isinstance(i, str) for i in ids):
                return [{"op": "remove", "path": f"members[value eq {json.dumps(i)}]"} for i in ids]
        return [op]
    if isinstance(value, dict):
        _fix_resource(value)
        paths = {k: v for k, v in value.items() if _split_key(k)}
        if paths:
            # Entra's path-less replace with attribute paths as keys: one operation per path
            rest = {k: v for k, v in value.items() if k not in paths}
            split: list[object] = [{"op": op["op"], "value": rest}] if rest else []
            for key, item in paths.items():
                if key == f"{ENTERPRISE}:manager":
                    item = _manager(item)
                elif key == "active":
                    item = _boolean(item)
                split.append({"op": op["op"], "path": key, "value": item})
            return split
    return [op]


def make_app(
    store: Store,
    source: str,
    on_deactivation: Callable[[dict[str, Any]], None] | None = None,
    check: Check | None = None,
) -> Callable[..., Iterable[bytes]]:
    """The WSGI application; ``check`` refuses users the identity source cannot map."""
    return mounted(
        accept_quirks(ProviderApplication(store, source, threading.Lock(), on_deactivation, check))
    )


MOUNT = "/scim"
"""The prefix before scim2-server's ``/v2``: ``scim serve --help`` and the README name
``/scim/v2``, the URL identity providers are given."""


def mounted(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Serve ``app`` under ``/scim/v2`` (its ``meta.location`` URLs too). ``/v2``, where
    earlier versions answered, is still served, so a provider set up with it keeps
    working."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path == MOUNT or path.startswith(MOUNT + "/"):
            environ["SCRIPT_NAME"] = str(environ.get("SCRIPT_NAME", "")) + MOUNT
            environ["PATH_INFO"] = path[len(MOUNT) :]
        return app(environ, start_response)

    return wrapped
