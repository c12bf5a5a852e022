"""Account entries of the ``ldap`` connector: which entries are accounts and what they
read as.

It owns where accounts are searched (``users_dn``, and the disabled OU unless
``users_dn`` covers it), the external id (``id_attribute``; AD's binary objectGUID as a
UUID) and finding an entry by it, whether an entry is enabled under the ``disable``
method, the ``SnapshotAccount`` an entry becomes, and what groups hold for an account
(its DN, or its uid for memberUid groups), remembered per session so a grant right
after a create or a verify needs no search.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.ldap._dn import DnError, is_within, normalize_dn, same_dn
from accesshive.connectors.ldap._ldap3 import escape_filter_chars, ldap3
from accesshive.connectors.ldap._search import FILTER_CHUNK, _Entry, _LdapSearch
from accesshive.connectors.ldap._values import ACCOUNTDISABLE, _typed
from accesshive.state.snapshot import SnapshotAccount

_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class _AccountEntries(_LdapSearch):
    """Accounts as directory entries."""

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        self._member_values: dict[str, str] = {}
        """external id → what groups hold for it (DN or uid), as last read in this session."""

    def _bases(self) -> list[tuple[str, Any]]:
        """Where accounts are: users_dn, and the disabled OU unless users_dn covers it."""
        bases = [(self.users_dn, self.users_scope)]
        if self.disable.method == "ou":
            covered = self.users_scope == ldap3.SUBTREE and is_within(
                self.disable.ou, self.users_dn
            )
            if not covered and not same_dn(self.disable.ou, self.users_dn):
                bases.append((self.disable.ou, self.users_scope))
        return bases

    def _accounts_matching(self, filters: Sequence[str], attributes: list[str]) -> Iterator[_Entry]:
        """The accounts matching any of ``filters``, in every base: one OR search per
        ``FILTER_CHUNK`` filters and base (servers limit the size of a filter)."""
        for start in range(0, len(filters), FILTER_CHUNK):
            any_of = "".join(filters[start : start + FILTER_CHUNK])
            for base, scope in self._bases():
                yield from self._search(
                    base, scope, f"(&{self.account_filter}(|{any_of}))", attributes
                )

    def _external_id(self, entry: _Entry) -> str | None:
        raw = entry.values.get(self.id_attribute.lower())
        if not raw:
            return None
        if self.id_attribute.lower() == "objectguid" and len(raw[0]) == 16:
            return str(uuid.UUID(bytes_le=raw[0]))
        return raw[0].decode("utf-8", "replace")

    def _id_filter(self, external_id: str) -> str | None:
        """The filter that finds ``external_id``; None when it cannot be an id here."""
        name = self.id_attribute.lower()
        if name in ("entryuuid", "objectguid"):
            if not _UUID.match(external_id):
                return None
            if name == "objectguid":
                escaped = "".join(f"\\{b:02x}" for b in uuid.UUID(external_id).bytes_le)
                return f"({self.id_attribute}={escaped})"
        return f"({self.id_attribute}={escape_filter_chars(external_id)})"

    def _find_by_id(self, external_id: str) -> _Entry | None:
        id_filter = self._id_filter(external_id)
        if id_filter is None:
            return None
        entry = next(self._accounts_matching([id_filter], self.read_attributes), None)
        if entry is not None:
            self._remember(entry)
        return entry

    def _remember(self, entry: _Entry) -> None:
        """Keep the account's member value: a grant right after a create or a verify
        then needs no search to find the DN it adds to the group."""
        external_id = self._external_id(entry)
        member = self._member_value(entry)
        if external_id is not None and member:
            self._member_values[external_id] = member

    def _member_of_account(self, external_id: str) -> str:
        known = self._member_values.get(external_id)
        if known is not None:
            return known
        entry = self._require(external_id)
        member = self._member_value(entry)
        if not member:
            raise self.error(f"{entry.dn} has no {self.member_uid_attribute} to be a member by")
        return member

    def _require(self, external_id: str) -> _Entry:
        entry = self._find_by_id(external_id)
        if entry is None:
            raise self.error(
                f"no account with {self.id_attribute} {external_id} under {self.users_dn}"
            )
        return entry

    def _enabled(self, entry: _Entry) -> bool:
        method = self.disable.method
        if method == "ou":
            return not is_within(entry.dn, self.disable.ou)
        if method == "attribute":
            wanted = self.disable.value.casefold()
            return all(v.casefold() != wanted for v in entry.strings(self.disable.attribute))
        if method == "active_directory":
            flags = entry.first(self.disable.attribute)
            return not (flags and flags.lstrip("-").isdigit() and int(flags) & ACCOUNTDISABLE)
        return True

    def _snapshot(self, entry: _Entry, grants: set[str]) -> SnapshotAccount:
        external_id = self._external_id(entry)
        if external_id is None:
            raise self.error(
                f"{entry.dn} has no {self.id_attribute}; it cannot be told apart across "
                "renames (is id_attribute right?)"
            )
        attributes: dict[str, Any] = {}
        for name in self.attributes:
            values = entry.strings(name)
            if not values:
                continue
            spec = self.schema.get(name)
            if spec is not None and spec.multi_valued:
                attributes[name] = sorted(
                    (_typed(v, spec) for v in values), key=lambda v: (str(type(v)), v)
                )
            else:
                attributes[name] = _typed(values[0], spec)
        identity = entry.first(self.identity_attribute) if self.identity_attribute else None
        return SnapshotAccount(
            external_id=external_id,
            identity=identity,
            enabled=self._enabled(entry),
            attributes=attributes,
            grants=sorted(grants),
        )

    def _member_value(self, entry: _Entry) -> str | None:
        """What a group holds for this account: its DN, or its uid for memberUid groups."""
        return entry.first(self.member_uid_attribute) if self.member_by_uid else entry.dn

    def _member_key(self, value: str) -> str:
        if self.member_by_uid:
            return value  # memberUid matches case-exactly (RFC 2307)
        try:
            return normalize_dn(value)
        except DnError:
            return value
