"""Searches of the ``ldap`` connector, and the entries they return.

``LdapSearch.lookup`` finds one or a few entries (no paging control); ``paged`` walks a
simple-paged-results search page by page. Both fail closed: a referral or a ranged
(partial) attribute raises rather than passing for the whole result, since a missing
member or account would later read as something to create or revoke.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from accesshive.connectors.ldap._settings import LdapSettings
from accesshive.connectors.ldap._transport import LdapTransport

_PAGED_RESULTS = "1.2.840.113556.1.4.319"
FILTER_CHUNK = 100
"""Accounts looked up by one OR filter (servers limit a filter's size)."""


@dataclass(frozen=True)
class _Entry:
    dn: str
    values: dict[str, list[bytes]]
    """Attribute name (lower case) → raw values."""

    def strings(self, attribute: str) -> list[str]:
        return [v.decode("utf-8", "replace") for v in self.values.get(attribute.lower(), [])]

    def first(self, attribute: str) -> str | None:
        found = self.strings(attribute)
        return found[0] if found else None


class LdapSearch:
    """Searches over the transport's connection, as lists of ``_Entry``."""

    def __init__(self, settings: LdapSettings, transport: LdapTransport) -> None:
        self.settings = settings
        self.transport = transport

    def lookup(
        self, base: str, scope: Any, search_filter: str, attributes: list[str]
    ) -> list[_Entry]:
        """Every entry of a lookup (one or a few entries): no paging control, whose
        encoding costs as much as the search itself; a result cut short by the server's
        size limit raises (sizeLimitExceeded), never passes for the whole."""
        what = f"search {base}"

        def run(conn: Any) -> list[Any]:
            conn.search(base, search_filter, scope, attributes=attributes)
            return list(conn.response or [])

        return self._entries(self.transport.op(what, run), what)

    def paged(
        self, base: str, scope: Any, search_filter: str, attributes: list[str]
    ) -> Iterator[list[_Entry]]:
        """One list of entries per page of a simple-paged-results search."""
        cookie: bytes | None = None
        what = f"search {base}"
        while True:

            def run(conn: Any, cookie: bytes | None = cookie) -> tuple[Any, Any]:
                conn.search(
                    base,
                    search_filter,
                    scope,
                    attributes=attributes,
                    paged_size=self.settings.page_size,
                    paged_cookie=cookie,
                    paged_criticality=True,
                )
                return list(conn.response or []), dict(conn.result or {})

            response, result = self.transport.op(what, run)
            yield self._entries(response, what)
            control = (result.get("controls") or {}).get(_PAGED_RESULTS) or {}
            cookie = (control.get("value") or {}).get("cookie")
            if not cookie:
                return

    def _entries(self, response: list[Any], what: str) -> list[_Entry]:
        entries = []
        for item in response:
            kind = item.get("type")
            if kind == "searchResRef":
                raise self.settings.error(
                    f"{what}: the directory referred part of the search to "
                    f"{', '.join(item.get('uri') or [])}; referrals are not followed, "
                    "so the result would be incomplete"
                )
            if kind != "searchResEntry":
                continue
            raw = item.get("raw_attributes") or {}
            values: dict[str, list[bytes]] = {}
            for name, vals in raw.items():
                if ";range=" in name.lower():
                    raise self.settings.error(
                        f"{what}: the directory returned {name} for {item['dn']}, only part "
                        "of the values (ranged retrieval is not supported); refusing a "
                        "partial read"
                    )
                values[name.lower()] = [
                    v if isinstance(v, bytes) else str(v).encode() for v in vals
                ]
            entries.append(_Entry(str(item["dn"]), values))
        return entries
