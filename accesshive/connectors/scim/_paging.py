"""Listing and paging of the ``scim`` connector: the reads every list is made of.

``list`` is one request: by ``startIndex``/``count``, or by ``cursor`` where the target
pages by RFC 9865 cursors; a 429 is retried after its Retry-After, at most
``READ_RETRIES`` times. ``pages`` is every resource of a type, page by page, and fails
closed: ``totalResults`` missing or changing, a repeated id or an early empty page raise,
never a partial list; with cursors, a repeated cursor or an expired one raise too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from scim2_models import ListResponse, Resource, ResourceType, SearchRequest

from accesshive.connectors.scim._probe import ServiceProbe
from accesshive.connectors.scim._session import ScimError, ScimSession
from accesshive.connectors.scim._settings import ScimSettings

READ_RETRIES = 3
MAX_READ_WAIT = 60.0


class Paging:
    """One page, and every page, of a resource type."""

    def __init__(self, settings: ScimSettings, session: ScimSession, probe: ServiceProbe) -> None:
        self.settings = settings
        self.session = session
        self.probe = probe

    def page(
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
        scim = self.session.client()
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
                result = self.session.call(what, lambda: scim.query(rt, query_parameters=params))
            except ScimError as exc:
                if exc.status == 429 and attempt < READ_RETRIES:
                    attempt += 1
                    time.sleep(
                        min(exc.retry_after if exc.retry_after is not None else 1.0, MAX_READ_WAIT)
                    )
                    continue
                raise
            if not isinstance(result, ListResponse):
                raise self.settings.error(f"{what}: the target did not answer with a ListResponse")
            return result

    def pages(
        self, rt: ResourceType, attributes: list[str] | None, filter_: str | None = None
    ) -> Iterator[tuple[list[Resource[Any]], int]]:
        """Every resource of a type, page by page, or ``ConnectorError``: never a partial list."""
        if self.probe.service().cursor:
            yield from self._cursor_pages(rt, attributes, filter_)
            return
        size = self.probe.service().page_size
        start, total = 1, None
        seen: set[str] = set()
        while True:
            page = self.page(rt, start, size, attributes, filter_)
            where = f"GET {rt.endpoint} (startIndex={start})"
            if page.total_results is None:
                raise self.settings.error(f"{where}: the target did not say how many there are")
            if total is None:
                total = page.total_results
            elif page.total_results != total:
                raise self.settings.error(
                    f"{where}: totalResults changed during the read ({total} then "
                    f"{page.total_results}); nothing was kept, read again"
                )
            if page.start_index not in (None, start):
                raise self.settings.error(
                    f"{where}: the target answered startIndex={page.start_index} (it does not "
                    "page by startIndex); nothing was kept"
                )
            items = self._new_items(
                page, seen, where, "the target ignores startIndex or reorders between pages"
            )
            if len(seen) > total:
                raise self.settings.error(f"{where}: more resources than the {total} announced")
            yield items, total
            if len(seen) >= total:
                return
            if not items:
                raise self.settings.error(
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
                raise self.settings.error(f"{where}: a resource without id")
            if item.id in seen:
                raise self.settings.error(
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
        size = self.probe.service().page_size
        cursor, total = "", None
        seen: set[str] = set()
        cursors: set[str] = set()
        while True:
            where = f"GET {rt.endpoint} (cursor={_shown(cursor)})"
            try:
                page = self.page(rt, 0, size, attributes, filter_, cursor=cursor)
            except ScimError as exc:
                if exc.scim_type == "expiredCursor":
                    raise self.settings.error(
                        f"{where}: the target says the cursor expired after {len(seen)} "
                        "resources; nothing was kept, read again (or set "
                        "quirks.cursor_paging: false to page by startIndex)"
                    ) from exc
                raise
            if page.total_results is not None:
                if total is None:
                    total = page.total_results
                elif page.total_results != total:
                    raise self.settings.error(
                        f"{where}: totalResults changed during the read ({total} then "
                        f"{page.total_results}); nothing was kept, read again"
                    )
            items = self._new_items(page, seen, where, "the target's cursors overlap")
            if total is not None and len(seen) > total:
                raise self.settings.error(f"{where}: more resources than the {total} announced")
            following = page.next_cursor
            if following is not None and following in cursors | {cursor}:
                raise self.settings.error(
                    f"{where}: the target answered a nextCursor it had already given; "
                    "its cursors go round in circles, nothing was kept"
                )
            if following is None and total is not None and len(seen) < total:
                raise self.settings.error(
                    f"{where}: no nextCursor with {total - len(seen)} of the {total} "
                    "announced still unread; nothing was kept"
                )
            yield items, total if total is not None else len(seen)
            if following is None:
                return
            cursors.add(cursor)
            cursor = following


def _shown(cursor: str | None) -> str:
    """A cursor as messages show it: opaque and often long, so its start is enough."""
    if not cursor:
        return '""'
    return cursor if len(cursor) <= 12 else cursor[:12] + "…"
