"""Account entries of the ``ldap`` connector: which entries are accounts and what they
read as.

It owns where accounts are searched (``users_dn``, and the disabled OU unless
``users_dn`` covers it), the external id (``id_attribute``; AD's binary objectGUID as a
UUID) and finding an entry by it, whether an entry is enabled under the ``disable``
method, the ``SnapshotAccount`` an entry becomes, and what groups hold for an account
(its DN, or its uid for memberUid groups), remembered per session (one memory for all
of an apply run's connectors of the source: ``share``) so a grant right after a create
or a verify needs no search.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from accesshive.connectors.ldap._dn import DnError, is_within, normalize_dn, same_dn
from accesshive.connectors.ldap._ldap3 import escape_filter_chars, ldap3
from accesshive.connectors.ldap._search import FILTER_CHUNK, LdapSearch, _Entry
from accesshive.connectors.ldap._settings import LdapSettings
from accesshive.connectors.ldap._values import ACCOUNTDISABLE, _typed
from accesshive.state.snapshot import SnapshotAccount

_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class AccountEntries:
    """Accounts as directory entries, found through ``search``."""

    def __init__(self, settings: LdapSettings, search: LdapSearch) -> None:
        self.settings = settings
        self.search = search
        self._member_values: dict[str, str] = {}
        """external id → what groups hold for it (DN or uid), as last read in this session."""

    def bases(self) -> list[tuple[str, Any]]:
        """Where accounts are: users_dn, and the disabled OU unless users_dn covers it."""
        bases = [(self.settings.users_dn, self.settings.users_scope)]
        if self.settings.disable.method == "ou":
            covered = self.settings.users_scope == ldap3.SUBTREE and is_within(
                self.settings.disable.ou, self.settings.users_dn
            )
            if not covered and not same_dn(self.settings.disable.ou, self.settings.users_dn):
                bases.append((self.settings.disable.ou, self.settings.users_scope))
        return bases

    def matching(self, filters: Sequence[str], attributes: list[str]) -> Iterator[_Entry]:
        """The accounts matching any of ``filters``, in every base: one OR search per
        ``FILTER_CHUNK`` filters and base (servers limit the size of a filter)."""
        for start in range(0, len(filters), FILTER_CHUNK):
            any_of = "".join(filters[start : start + FILTER_CHUNK])
            for base, scope in self.bases():
                yield from self.search.lookup(
                    base, scope, f"(&{self.settings.account_filter}(|{any_of}))", attributes
                )

    def by_ids(self, filters: Mapping[str, str], attributes: list[str]) -> Iterator[_Entry]:
        """The accounts of ``filters`` (external id → the filter that finds it): one OR
        search per ``FILTER_CHUNK`` ids, each base asked only for the ids the bases before
        it did not hold. An id is one account, in one place: a batch found under
        ``users_dn`` costs one search, not one per base (an id read in another form than
        asked is looked for further, as before: never fewer bases than needed)."""
        ids = list(filters)
        for start in range(0, len(ids), FILTER_CHUNK):
            missing = dict.fromkeys(ids[start : start + FILTER_CHUNK])
            for base, scope in self.bases():
                if not missing:
                    break
                any_of = "".join(filters[i] for i in missing)
                found = self.search.lookup(
                    base, scope, f"(&{self.settings.account_filter}(|{any_of}))", attributes
                )
                for entry in found:
                    missing.pop(self.external_id(entry) or "", None)
                yield from found

    def external_id(self, entry: _Entry) -> str | None:
        raw = entry.values.get(self.settings.id_attribute.lower())
        if not raw:
            return None
        if self.settings.id_attribute.lower() == "objectguid" and len(raw[0]) == 16:
            return str(uuid.UUID(bytes_le=raw[0]))
        return raw[0].decode("utf-8", "replace")

    def id_filter(self, external_id: str) -> str | None:
        """The filter that finds ``external_id``; None when it cannot be an id here."""
        name = self.settings.id_attribute.lower()
        if name in ("entryuuid", "objectguid"):
            if not _UUID.match(external_id):
                return None
            if name == "objectguid":
                escaped = "".join(f"\\{b:02x}" for b in uuid.UUID(external_id).bytes_le)
                return f"({self.settings.id_attribute}={escaped})"
        return f"({self.settings.id_attribute}={escape_filter_chars(external_id)})"

    def find_by_id(self, external_id: str) -> _Entry | None:
        id_filter = self.id_filter(external_id)
        if id_filter is None:
            return None
        entry = next(self.by_ids({external_id: id_filter}, self.settings.read_attributes), None)
        if entry is not None:
            self.remember(entry)
        return entry

    def remember(self, entry: _Entry) -> None:
        """Keep the account's member value: a grant right after a create or a verify
        then needs no search to find the DN it adds to the group."""
        external_id = self.external_id(entry)
        member = self.member_value(entry)
        if external_id is not None and member:
            self._member_values[external_id] = member

    def share(self, other: AccountEntries) -> None:
        """Remember, and forget, in ``other``'s memory from now on (connectors of one
        source in one run; a dict's get, set and pop are atomic under the GIL)."""
        other._member_values.update(self._member_values)
        self._member_values = other._member_values

    def known_member(self, external_id: str) -> str | None:
        """What groups hold for the account, when this session has seen it; else None."""
        return self._member_values.get(external_id)

    def forget(self, external_id: str) -> None:
        """The account may have moved or gone: look its member value up again."""
        self._member_values.pop(external_id, None)

    def member_of_account(self, external_id: str) -> str:
        known = self._member_values.get(external_id)
        if known is not None:
            return known
        entry = self.require(external_id)
        member = self.member_value(entry)
        if not member:
            raise self.settings.error(
                f"{entry.dn} has no {self.settings.member_uid_attribute} to be a member by"
            )
        return member

    def require(self, external_id: str) -> _Entry:
        entry = self.find_by_id(external_id)
        if entry is None:
            raise self.settings.error(
                f"no account with {self.settings.id_attribute} {external_id} "
                f"under {self.settings.users_dn}"
            )
        return entry

    def enabled(self, entry: _Entry) -> bool:
        method = self.settings.disable.method
        if method == "ou":
            return not is_within(entry.dn, self.settings.disable.ou)
        if method == "attribute":
            wanted = self.settings.disable.value.casefold()
            return all(
                v.casefold() != wanted for v in entry.strings(self.settings.disable.attribute)
            )
        if method == "active_directory":
            flags = entry.first(self.settings.disable.attribute)
            return not (flags and flags.lstrip("-").isdigit() and int(flags) & ACCOUNTDISABLE)
        return True

    def snapshot(self, entry: _Entry, grants: set[str]) -> SnapshotAccount:
        external_id = self.external_id(entry)
        if external_id is None:
            raise self.settings.error(
                f"{entry.dn} has no {self.settings.id_attribute}; it cannot be told apart across "
                "renames (is id_attribute right?)"
            )
        attributes: dict[str, Any] = {}
        for name in self.settings.attributes:
            values = entry.strings(name)
            if not values:
                continue
            spec = self.settings.schema.get(name)
            if spec is not None and spec.multi_valued:
                attributes[name] = sorted(
                    (_typed(v, spec) for v in values), key=lambda v: (str(type(v)), v)
                )
            else:
                attributes[name] = _typed(values[0], spec)
        identity = (
            entry.first(self.settings.identity_attribute)
            if self.settings.identity_attribute
            else None
        )
        return SnapshotAccount(
            external_id=external_id,
            identity=identity,
            enabled=self.enabled(entry),
            attributes=attributes,
            grants=sorted(grants),
        )

    def member_value(self, entry: _Entry) -> str | None:
        """What a group holds for this account: its DN, or its uid for memberUid groups."""
        return (
            entry.first(self.settings.member_uid_attribute)
            if self.settings.member_by_uid
            else entry.dn
        )

    def member_key(self, value: str) -> str:
        if self.settings.member_by_uid:
            return value  # memberUid matches case-exactly (RFC 2307)
        try:
            return normalize_dn(value)
        except DnError:
            return value
