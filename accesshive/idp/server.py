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
Every request reads and writes the store itself (``RecordingStorage``), so replicas on
one PostgreSQL store serve the same data.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from scim2_models import (
    AuthenticationScheme,
    External,
    Group,
    InvalidValueException,
    Meta,
    NotFoundException,
    PreconditionFailedException,
    Reference,
    Resource,
    ResourceType,
    ResponseParameters,
    SearchRequest,
    UnauthorizedException,
    UniquenessException,
)
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.storage import ScimStorage, SearchPage
from scim2_server.utils import load_default_provider

from accesshive.idp.tokens import token_hash
from accesshive.store import Store

BEARER = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="bearer_token",
    description="HTTP Bearer Token (accesshive scim token create)",
    spec_uri=Reference[External]("https://datatracker.ietf.org/doc/html/rfc6750"),
)


Check = Callable[[dict[str, Any], list[str]], None]
"""Raises ``RecordProblem`` for a user (as JSON, and the names of its groups) that the
identity source cannot map (``accesshive.idp.merge.check_user``)."""


class RecordingStorage(ScimStorage):
    """scim2-server's storage, reading and writing accesshive's store directly.

    Why no in-memory copy: several ``scim serve`` processes (replicas behind a load
    balancer) share one PostgreSQL store, and each must answer with what the others
    wrote. So every operation reads the store, and every write is one store
    transaction that also holds the store's writer lock (PostgreSQL: an advisory
    lock; SQLite: ``BEGIN IMMEDIATE``) for the whole request, from the read of the
    current resource to its write: a PATCH on one replica cannot lose a PATCH made
    on another at the same moment, and two replicas given the same ``userName`` at
    once create it once (the other gets 409 uniqueness, as RFC 7644 says).

    Unique values (``userName``) are kept in their own table, keyed by attribute and
    value, so the uniqueness check and the ``userName eq "..."`` lookup identity
    providers make before every create read one row, not every record. Which values
    are unique, and how they compare (case-insensitively for ``userName``), is
    scim2-server's own rule, so a search finds what uniqueness refuses.
    """

    supports_cursors = True

    def __init__(
        self,
        store: Store,
        source: str,
        lock: threading.RLock,
        models: dict[str, type[Resource[Any]]],
        on_deactivation: Callable[[dict[str, Any]], None] | None = None,
        check: Check | None = None,
    ) -> None:
        self.store = store
        self.source = source
        self.models = models
        self.store_lock = lock
        self.on_deactivation = on_deactivation
        self.check = check
        self._local = threading.local()
        self._parsed: dict[str, Resource[Any]] = {}
        self._index()

    def _index(self) -> None:
        """(Re)build the unique values of the source's records: records written by an
        earlier version, which had no such table, get theirs."""
        with self.store_lock, self.store.transaction():
            for kind, rid, body in self.store.records(self.source):
                if kind in self.models:
                    self.store.set_unique(self.source, kind, rid, _unique(self._parse(kind, body)))

    # ------------------------------------------------------------------ one operation

    def writing(self, value: bool) -> None:
        """Whether this thread's next operation writes (decided from the HTTP method):
        only writes take the store's writer lock."""
        self._local.writing = value

    @contextmanager
    def operation(self) -> Iterator[None]:
        """One request: a store transaction for a write; what it triggers (a leaver's
        apply) runs once it is committed."""
        after: list[Callable[[], None]] = []
        self._local.after = after
        with self.store_lock:
            if getattr(self._local, "writing", True):
                with self.store.transaction():
                    yield
            else:
                yield
        for call in after:
            call()

    def _after_commit(self, call: Callable[[], None]) -> None:
        after = getattr(self._local, "after", None)
        if after is None:
            call()
        else:
            after.append(call)

    # ------------------------------------------------------------------ reading

    def _parse(self, kind: str, body: str) -> Resource[Any]:
        """A record as a resource; parsed once per distinct body (the record's version
        is in it), then copied, since callers change what they get."""
        parsed = self._parsed.get(body)
        if parsed is None:
            parsed = self.models[kind].model_validate(json.loads(body))
            if len(self._parsed) >= PARSED_CACHE:
                self._parsed.clear()
            self._parsed[body] = parsed
        return parsed.model_copy(deep=True)

    def _stored(self, resource_type: ResourceType, resource_id: str | None) -> Resource[Any]:
        body = self.store.record(self.source, str(resource_type.name), str(resource_id))
        if body is None:
            raise NotFoundException(detail=f"{resource_type.name} {resource_id!r} not found")
        return self._parse(str(resource_type.name), body)

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        with self.store_lock:
            return self._stored(resource_type, resource_id)

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        """Filter, sort and page exactly as scim2-server's in-memory storage does, over
        the records the filter can match (one, for ``userName eq``), read from the store."""
        names = list(dict.fromkeys(str(rt.name) for rt in resource_types))
        with self.store_lock:
            equal = (
                _equal_to(self.models["User"], search_request.filter) if names == ["User"] else None
            )
            if equal is not None:
                bodies = [
                    ("User", b) for b in self.store.records_with_unique(self.source, "User", *equal)
                ]
            else:
                bodies = [(k, b) for k, _, b in self.store.records(self.source) if k in names]
            resources = [self._parse(kind, body) for kind, body in bodies]
        found = InMemoryStorage()
        found.resources = resources
        return found.search(resource_types, search_request, position=position)

    # ------------------------------------------------------------------ writing

    def _persist(self, resource: Resource[Any], event: str) -> None:
        kind, rid = _key(resource)
        body = resource.model_dump_json(by_alias=True, exclude_none=True)
        values = _unique(resource)
        for urn, value in values:
            owner = self.store.unique_owner(self.source, urn, value)
            if owner is not None and owner != (kind, rid):
                raise UniquenessException(detail=f"{urn.rsplit(':', 1)[-1]} is already taken")
        self.store.put_record(self.source, kind, rid, body)
        self.store.set_unique(self.source, kind, rid, values)
        self.store.audit("scim", event, f"{kind}/{rid}", {"source": self.source})

    def _check(self, resource: Resource[Any]) -> None:
        """Refuse (400 invalidValue, nothing stored) a user the identity source cannot map."""
        if self.check is None or isinstance(resource, Group):
            return
        rid = str(resource.id) if resource.id else None
        groups = []
        for kind, _, body in self.store.records(self.source):
            if kind == "Group" and rid and rid in body:
                group = self._parse(kind, body)
                if isinstance(group, Group) and any(m.value == rid for m in group.members or []):
                    groups.append(str(group.display_name))
        from accesshive.idp.merge import RecordProblem

        try:
            self.check(resource.model_dump(mode="json", by_alias=True, exclude_none=True), groups)
        except RecordProblem as exc:
            raise InvalidValueException(
                detail=f"identity source '{self.source}' cannot map this user: {exc}",
                attribute=exc.attribute,
            ) from exc

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        with self.store_lock, self.store.transaction():
            created = resource.model_copy(deep=True)
            created.id = uuid.uuid4().hex
            at = _utcnow()
            created.meta = Meta(
                resource_type=resource_type.name,
                created=at,
                last_modified=at,
                version=_version(),
            )
            self._check(created)
            self._persist(created, "idp_create")
            return created.model_copy(deep=True)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        with self.store_lock, self.store.transaction():
            before = self._stored(resource_type, str(resource.id))
            assert before.meta is not None
            if expected_version is not None and before.meta.version != expected_version:
                raise PreconditionFailedException
            updated = type(resource).model_validate(resource.model_dump())
            updated.meta = before.meta.model_copy(
                update={"location": None, "last_modified": _utcnow(), "version": _version()}
            )
            self._check(updated)
            self._persist(updated, "idp_update")
        was_active = getattr(before, "active", None) is not False
        if was_active and getattr(updated, "active", None) is False and self.on_deactivation:
            deactivated = self.on_deactivation
            user = updated.model_dump(mode="json", by_alias=True, exclude_none=True)
            self._after_commit(lambda: deactivated(user))
        return updated.model_copy(deep=True)

    def delete(
        self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None
    ) -> None:
        with self.store_lock, self.store.transaction():
            stored = self._stored(resource_type, resource_id)
            assert stored.meta is not None
            if expected_version is not None and stored.meta.version != expected_version:
                raise PreconditionFailedException
            self.store.delete_record(self.source, str(resource_type.name), resource_id)
            self.store.audit(
                "scim", "idp_delete", f"{resource_type.name}/{resource_id}", {"source": self.source}
            )


PARSED_CACHE = 50_000
"""Parsed records kept per process (by body), so listing users does not parse each
record again; emptied when full."""

_RULES = InMemoryStorage()
"""scim2-server's in-memory storage, asked only for its rules: which values of a
resource are unique and in what form they compare."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _version() -> str:
    """A version no other write (of any replica) has: ETags must change with every write."""
    return f'W/"{uuid.uuid4().hex[:16]}"'


def _key(resource: Resource[Any]) -> tuple[str, str]:
    assert resource.meta is not None
    return str(resource.meta.resource_type), str(resource.id)


def _unique_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _unique(resource: Resource[Any]) -> list[tuple[str, str]]:
    """(attribute URN, comparable value) of each unique value the resource holds."""
    values = _RULES._values_of(resource)
    return sorted((urn, _unique_key(value)) for urn, value in values.items())


def _equal_to(model: type[Resource[Any]], scim_filter: Any) -> tuple[str, str] | None:
    """(URN, comparable value) when a filter of Users compares one unique attribute to
    a string with ``eq`` (Entra's ``userName eq "..."``); else None (every record is
    read and filtered)."""
    if scim_filter is None:
        return None
    from scim2_models import ScimFilter
    from scim2_models.path import Comparison
    from scim2_server.memory import _equality
    from scim2_server.utils import parametrize

    try:
        typed = parametrize(ScimFilter, model)(str(scim_filter))
        binding = _equality(typed)
        if binding is None or binding.urn != USER_NAME:
            return None
        node = typed.ast
        assert isinstance(node, Comparison)
        return binding.urn, _unique_key(binding.comparable(node.value))
    except Exception:  # a filter this shortcut does not understand: read everything
        return None


USER_NAME = "urn:ietf:params:scim:schemas:core:2.0:User:userName"


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
        challenged(
            accept_quirks(
                ProviderApplication(store, source, threading.RLock(), on_deactivation, check)
            )
        )
    )


REALM = "accesshive scim"


def challenged(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Give every 401 the bearer challenge RFC 6750 §3 describes (RFC 7644 §2 defers to
    it), naming accesshive's realm and the error: HTTP clients and identity providers'
    connection tests read it to tell "send a token" (no ``error``) from "this token is
    refused" (``error="invalid_token"``)."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sent = bool(str(environ.get("HTTP_AUTHORIZATION", "")).strip())

        def respond(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            if status.startswith("401"):
                value = f'Bearer realm="{REALM}"'
                if sent:
                    value += ', error="invalid_token"'
                # scim2-server sends its own bare challenge (realm "SCIM"): replace it
                kept = [(k, v) for k, v in headers if k.lower() != "www-authenticate"]
                headers = [*kept, ("WWW-Authenticate", value)]
            return start_response(status, headers, *exc)

        return app(environ, respond)

    return wrapped


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
