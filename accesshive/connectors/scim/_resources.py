"""Resource access of the ``scim`` connector: the requests every order and read is made of.

It owns listing (``_list``: one ``startIndex``/``count`` request, or one ``cursor``
request where the target pages by RFC 9865 cursors, a 429 retried after its
Retry-After, at most ``READ_RETRIES`` times), paging that fails closed (``_pages``:
``totalResults`` missing or changing, a repeated id or an early empty page raise, never
a partial list; with cursors, a repeated cursor or an expired one raise too), fetching
one resource, finding a Group by its entitlement (ids remembered per session) and
changing a resource (``_modify``: PATCH, or the change applied locally and PUT back when
PATCH is off; If-Match when ETags are offered).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

from pydantic import ValidationError
from scim2_models import (
    Context,
    Group,
    ListResponse,
    PatchOp,
    Resource,
    ResourceType,
    ResponseParameters,
    SCIMException,
    SearchRequest,
)

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.scim._probe import _ScimProbe
from accesshive.connectors.scim._session import ScimError, _filter_refused
from accesshive.connectors.scim._values import _first_error, _quote, _url

READ_RETRIES = 3
MAX_READ_WAIT = 60.0


class _Resources(_ScimProbe):
    """Listing, paging, fetching and changing resources; Groups by entitlement."""

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        self._group_ids: dict[str, str] = {}
        """Group displayName → id, filled as groups are read or looked up."""

    def _list(
        self,
        rt: ResourceType,
        start: int,
        count: int,
        attributes: list[str] | None,
        filter_: str | None = None,
        cursor: str | None = None,
    ) -> ListResponse[Resource[Any]]:
        """One page: by ``startIndex``, or, when ``cursor`` is given, by RFC 9865 cursor
        (``""`` asks for the first page)."""
        scim = self._client()
        params: SearchRequest[Any] = SearchRequest(
            start_index=None if cursor is not None else start,
            cursor=cursor,
            count=count,
            attributes=attributes or None,
            filter=filter_,
        )
        where = f"cursor={_shown(cursor)}" if cursor is not None else f"startIndex={start}"
        what = f"GET {rt.endpoint}?{where}&count={count}"
        if filter_:
            what += f"&filter={filter_}"
        attempt = 0
        while True:
            try:
                result = self._call(what, lambda: scim.query(rt, query_parameters=params))
            except ScimError as exc:
                if exc.status == 429 and attempt < READ_RETRIES:
                    attempt += 1
                    time.sleep(
                        min(exc.retry_after if exc.retry_after is not None else 1.0, MAX_READ_WAIT)
                    )
                    continue
                raise
            if not isinstance(result, ListResponse):
                raise self.error(f"{what}: the target did not answer with a ListResponse")
            return result

    def _pages(
        self, rt: ResourceType, attributes: list[str] | None, filter_: str | None = None
    ) -> Iterator[tuple[list[Resource[Any]], int]]:
        """Every resource of a type, page by page, or ``ConnectorError``: never a partial list."""
        if self._svc().cursor:
            yield from self._cursor_pages(rt, attributes, filter_)
            return
        size = self._svc().page_size
        start, total = 1, None
        seen: set[str] = set()
        while True:
            page = self._list(rt, start, size, attributes, filter_)
            where = f"GET {rt.endpoint} (startIndex={start})"
            if page.total_results is None:
                raise self.error(f"{where}: the target did not say how many there are")
            if total is None:
                total = page.total_results
            elif page.total_results != total:
                raise self.error(
                    f"{where}: totalResults changed during the read ({total} then "
                    f"{page.total_results}); nothing was kept, read again"
                )
            if page.start_index not in (None, start):
                raise self.error(
                    f"{where}: the target answered startIndex={page.start_index} (it does not "
                    "page by startIndex); nothing was kept"
                )
            items = self._new_items(
                page, seen, where, "the target ignores startIndex or reorders between pages"
            )
            if len(seen) > total:
                raise self.error(f"{where}: more resources than the {total} announced")
            yield items, total
            if len(seen) >= total:
                return
            if not items:
                raise self.error(
                    f"{where}: an empty page with {total - len(seen)} of the {total} "
                    "announced still unread; nothing was kept"
                )
            start += len(items)

    def _new_items(
        self, page: ListResponse[Resource[Any]], seen: set[str], where: str, why_twice: str
    ) -> list[Resource[Any]]:
        """A page's resources, each with an id not seen before (added to ``seen``): a
        repeated one means the pages overlap, and a read that cannot be whole fails."""
        items = list(page.resources or [])
        for item in items:
            if not item.id:
                raise self.error(f"{where}: a resource without id")
            if item.id in seen:
                raise self.error(
                    f"{where}: {item.id} was returned twice: {why_twice}; nothing was kept"
                )
            seen.add(item.id)
        return items

    def _cursor_pages(
        self, rt: ResourceType, attributes: list[str] | None, filter_: str | None
    ) -> Iterator[tuple[list[Resource[Any]], int]]:
        """RFC 9865 paging: ``cursor=`` then each ``nextCursor`` until there is none.
        ``totalResults`` is optional there; where it is given it must hold still and be
        reached, as with ``startIndex``. The total yielded is the announced one, else the
        number read so far (callers use it for progress only)."""
        size = self._svc().page_size
        cursor, total = "", None
        seen: set[str] = set()
        cursors: set[str] = set()
        while True:
            where = f"GET {rt.endpoint} (cursor={_shown(cursor)})"
            try:
                page = self._list(rt, 0, size, attributes, filter_, cursor=cursor)
            except ScimError as exc:
                if exc.scim_type == "expiredCursor":
                    raise self.error(
                        f"{where}: the target says the cursor expired after {len(seen)} "
                        "resources; nothing was kept, read again (or set "
                        "quirks.cursor_paging: false to page by startIndex)"
                    ) from exc
                raise
            if page.total_results is not None:
                if total is None:
                    total = page.total_results
                elif page.total_results != total:
                    raise self.error(
                        f"{where}: totalResults changed during the read ({total} then "
                        f"{page.total_results}); nothing was kept, read again"
                    )
            items = self._new_items(page, seen, where, "the target's cursors overlap")
            if total is not None and len(seen) > total:
                raise self.error(f"{where}: more resources than the {total} announced")
            following = page.next_cursor
            if following is not None and following in cursors | {cursor}:
                raise self.error(
                    f"{where}: the target answered a nextCursor it had already given; "
                    "its cursors go round in circles, nothing was kept"
                )
            if following is None and total is not None and len(seen) < total:
                raise self.error(
                    f"{where}: no nextCursor with {total - len(seen)} of the {total} "
                    "announced still unread; nothing was kept"
                )
            yield items, total if total is not None else len(seen)
            if following is None:
                return
            cursors.add(cursor)
            cursor = following

    def _fetch(
        self, rt: ResourceType, resource_id: str, attributes: list[str] | None = None
    ) -> Resource[Any]:
        scim = self._client()
        params: ResponseParameters[Any] | None = (
            ResponseParameters(attributes=attributes) if attributes else None
        )
        what = f"GET {_url(rt, resource_id)}"
        found = self._call(what, lambda: scim.query(rt, resource_id, params))
        if not isinstance(found, Resource):
            raise self.error(f"{what}: the target did not answer with a resource")
        return found

    def _groups(self, attributes: list[str]) -> Iterator[tuple[str, Group]]:
        """Every Group with its entitlement (its displayName, mapped back through
        ``group_names``; a managed Group's by the externalId it carries)."""
        rt = self._svc().groups
        if rt is None:
            return
        if self._managed:
            attributes = [*attributes, "externalId"]
        for groups, _ in self._pages(rt, attributes):
            for group in groups:
                if isinstance(group, Group) and group.display_name and group.id:
                    self._group_ids[group.display_name] = group.id
                    name = group.display_name
                    if group.external_id in self._managed:
                        yield group.external_id, group
                    else:
                        yield self._entitlement_of.get(name, name), group

    def _one(self, ids: list[str], what: str) -> str | None:
        if len(ids) > 1:
            raise self.error(f"{len(ids)} accounts match {what}; accesshive will not guess which")
        return ids[0] if ids else None

    def _modify(
        self,
        rt: ResourceType,
        model: type[Resource[Any]],
        current: Resource[Any],
        operations: list[dict[str, Any]],
    ) -> None:
        """PATCH the operations, or apply them to the resource and PUT it back."""
        svc = self._svc()
        patching = svc.patch_users if rt is svc.users else svc.patch
        scim = self._client()
        rid = str(current.id)
        url = _url(rt, rid)
        headers = self._if_match(current)
        try:
            patch = cast(Any, PatchOp)[model].model_validate(
                {"schemas": [str(PatchOp.__schema__)], "Operations": operations},
                scim_ctx=Context.RESOURCE_PATCH_REQUEST,
            )
        except ValidationError as exc:
            raise self.error(f"PATCH {url}: invalid request: {_first_error(exc)}") from exc
        if patching:
            body = self.quirks.patch_payload(
                patch.model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST)
            )
            self._call(f"PATCH {url}", lambda: scim.modify(rt, rid, body, headers=headers))
            return
        try:
            patch.patch(current)
        except (ValueError, SCIMException) as exc:
            raise self.error(f"PUT {url}: cannot apply the change: {exc}") from exc
        body = self.quirks.resource_payload(
            current.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        )
        self._call(
            f"PUT {url}",
            lambda: scim.replace(rt, body, check_request_payload=False, url=url, headers=headers),
        )

    def _patch_unchecked(
        self, rt: ResourceType, rid: str, operations: list[dict[str, Any]]
    ) -> None:
        """PATCH operations that scim2-models would refuse to build: a write quirk's
        form (Entra's member removal by value), sent as the quirks spell it."""
        scim = self._client()
        url = _url(rt, rid)
        body = self.quirks.patch_payload(
            {"schemas": [str(PatchOp.__schema__)], "Operations": operations}
        )
        self._call(
            f"PATCH {url}",
            lambda: scim.modify(rt, rid, body, check_request_payload=False),
        )

    def _if_match(self, resource: Resource[Any]) -> dict[str, str]:
        version = resource.meta.version if resource.meta else None
        return {"If-Match": version} if version and self._svc().etag else {}

    def _group_id(self, entitlement: str, *, refresh: bool = False) -> str | None:
        if entitlement in self._managed:
            return self._managed_id(entitlement, refresh)
        name = self.group_names.get(entitlement, entitlement)
        if name in self._group_ids and not refresh:
            return self._group_ids[name]
        self._group_ids.pop(name, None)
        svc = self._svc()
        if svc.groups is None:
            return None
        if svc.filter:
            try:
                page = self._list(
                    svc.groups, 1, 2, ["displayName"], f"displayName eq {_quote(name)}"
                )
                ids = [
                    str(g.id)
                    for g in page.resources or []
                    if isinstance(g, Group) and g.display_name == name
                ]
                found = self._one(ids, f"the group '{name}'")
                if found:
                    self._group_ids[name] = found
                return found
            except ScimError as exc:
                if not _filter_refused(exc):
                    raise
        ids = [str(g.id) for _, g in self._groups(["displayName"]) if g.display_name == name]
        return self._one(ids, f"the group '{name}'")

    def _managed_id(self, entitlement: str, refresh: bool) -> str | None:
        """A managed entitlement's Group: the one carrying it as externalId (whatever its
        name is now), else the one of its name (not adopted yet)."""
        key = f"\0{entitlement}"  # never a displayName
        if key in self._group_ids and not refresh:
            return self._group_ids[key]
        group = self._keyed(entitlement, ["displayName", "externalId"])
        if group is None:
            named = self._named(self._managed[entitlement])
            group = named[0] if len(named) == 1 else None
        if group is None:
            return None
        self._group_ids[key] = str(group.id)
        return str(group.id)

    def _keyed(self, entitlement: str, attributes: list[str]) -> Group | None:
        """The Group carrying ``entitlement`` as its externalId."""
        attributes = list(dict.fromkeys([*attributes, "externalId"]))
        found = self._matching(f"externalId eq {_quote(entitlement)}", attributes)
        mine = [g for g in found if g.external_id == entitlement]
        if len(mine) > 1:
            ids = ", ".join(str(g.id) for g in mine)
            raise self.error(f"Groups {ids} all carry externalId {entitlement}; remove the extra")
        return mine[0] if mine else None

    def _named(self, name: str) -> list[Group]:
        found = self._matching(f"displayName eq {_quote(name)}", ["displayName", "externalId"])
        return [g for g in found if (g.display_name or "").casefold() == name.casefold()]

    def _matching(self, filter_: str, attributes: list[str]) -> list[Group]:
        """Groups by a filter, or by reading them all when the target refuses filters."""
        rt = self._groups_type()
        if self._svc().filter:
            try:
                return [
                    g
                    for page, _ in self._pages(rt, attributes, filter_)
                    for g in page
                    if isinstance(g, Group)
                ]
            except ScimError as exc:
                if not _filter_refused(exc):
                    raise
        return list(self._all_groups([*attributes, "displayName", "externalId"]))

    def _all_groups(self, attributes: list[str]) -> Iterator[Group]:
        rt = self._groups_type()
        for page, _ in self._pages(rt, attributes):
            yield from (g for g in page if isinstance(g, Group) and g.id)

    def _groups_type(self) -> ResourceType:
        rt = self._svc().groups
        if rt is None:
            raise self.error("the target publishes no Group resource type")
        return rt

    def _fetch_group(self, gid: str, attributes: list[str] | None = None) -> Group:
        rt = self._groups_type()
        found = self._fetch(rt, gid, attributes)
        if not isinstance(found, Group):
            raise self.error(f"GET {_url(rt, gid)}: not a Group")
        return found


def _shown(cursor: str | None) -> str:
    """A cursor as messages show it: opaque and often long, so its start is enough."""
    if not cursor:
        return '""'
    return cursor if len(cursor) <= 12 else cursor[:12] + "…"
