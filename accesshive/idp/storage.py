"""The store as scim2-server's storage: what ``scim serve`` keeps, and where.

Why a module of its own: this is the one place pushed users and groups are read and
written, and the reasons it has no in-memory copy, takes the store's writer lock for a
whole write request and audits every write are the whole of what makes replicas on one
PostgreSQL store safe (``RecordingStorage``'s docstring says how).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from scim2_models import (
    Group,
    InvalidValueException,
    Meta,
    NotFoundException,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    SearchRequest,
    UniquenessException,
)
from scim2_server.memory import InMemoryStorage
from scim2_server.storage import ScimStorage, SearchPage

from accesshive.idp.unique import equal_to, unique
from accesshive.store import Store

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
                    self.store.set_unique(self.source, kind, rid, unique(self._parse(kind, body)))

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
                equal_to(self.models["User"], search_request.filter) if names == ["User"] else None
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
        values = unique(resource)
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


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _version() -> str:
    """A version no other write (of any replica) has: ETags must change with every write."""
    return f'W/"{uuid.uuid4().hex[:16]}"'


def _key(resource: Resource[Any]) -> tuple[str, str]:
    assert resource.meta is not None
    return str(resource.meta.resource_type), str(resource.id)
