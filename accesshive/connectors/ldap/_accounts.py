"""Account orders of the ``ldap`` connector: create, update (and rename), enable or
disable, delete.

Creating first looks for the account by the correlation attributes and the RDN
attribute (``prepare_creates`` looks a whole batch up in a few OR searches) and adopts
the one it finds; an add that still meets entryAlreadyExists adopts the entry at that
DN; an entry whose ``identity_attribute`` names another identity is never adopted.
Renaming is a modrdn, so the entry keeps its id, and group memberships still holding
the old DN or uid are repointed. Disabling follows the ``disable`` method: move to
another OU, set an attribute, or AD's ACCOUNTDISABLE bit. Deleting first takes the
account out of its groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from accesshive.connectors.base import Created
from accesshive.connectors.ldap._account_entries import AccountEntries
from accesshive.connectors.ldap._dn import rdn_string, rdn_value, split_rdn
from accesshive.connectors.ldap._grants import Grants
from accesshive.connectors.ldap._ldap3 import escape_filter_chars, ldap3, post_read_control
from accesshive.connectors.ldap._parts import Collaborator
from accesshive.connectors.ldap._search import LdapSearch, _Entry
from accesshive.connectors.ldap._settings import _ATTRIBUTE, LdapSettings
from accesshive.connectors.ldap._transport import (
    ENTRY_ALREADY_EXISTS,
    NO_SUCH_ATTRIBUTE,
    NO_SUCH_OBJECT,
    LdapError,
    LdapTransport,
)
from accesshive.connectors.ldap._values import NORMAL_ACCOUNT, _get, _values, _with_flag

_POST_READ = "1.3.6.1.1.13.2"


class AccountOrders(Collaborator):
    """The account orders, and the lookups that make a create adopt instead of duplicate."""

    def __init__(
        self,
        settings: LdapSettings,
        transport: LdapTransport,
        search: LdapSearch,
        entries: AccountEntries,
        grants: Grants,
    ) -> None:
        super().__init__(settings, transport, search, entries, grants)
        self._looked_up: dict[tuple[str, str], list[_Entry]] = {}
        """(correlation attribute, casefolded value) → accounts found by ``prepare_creates``."""
        by_name: dict[str, str] = {}
        for name in [*self.settings.source.account.correlation, self.settings.rdn_attribute]:
            if _ATTRIBUTE.match(name):
                by_name.setdefault(name.lower(), name)
        self._correlation = list(by_name.values())
        """What a create is correlated by, in order (correlation, then the RDN), each once."""

    def prepare_creates(self, accounts: Sequence[Mapping[str, Any]]) -> None:
        """Look up every correlation value of a batch of new accounts in a few OR searches,
        so that each create's check for an existing account needs no search of its own."""
        self._looked_up.clear()
        for attr in self._correlation:
            values = sorted(
                {v[0] for a in accounts if len(v := _values(a.get(attr))) == 1}, key=str.casefold
            )
            found: dict[str, list[_Entry]] = {v.casefold(): [] for v in values}
            filters = [f"({attr}={escape_filter_chars(v)})" for v in values]
            for entry in self.entries.matching(filters, self.settings.read_attributes):
                for value in {v.casefold() for v in entry.strings(attr)}:
                    if value in found:
                        found[value].append(entry)
            for value, entries in found.items():
                self._looked_up[(attr.lower(), value)] = entries

    def _find(self, attributes: Mapping[str, Any]) -> _Entry | None:
        """The one account that correlates with ``attributes`` (correlation, then the RDN);
        from what ``prepare_creates`` looked up, when it did (once: a second create of the
        same value searches again)."""
        for attr in self._correlation:
            value = _values(attributes.get(attr))
            if len(value) != 1:
                continue
            found = self._looked_up.pop((attr.lower(), value[0].casefold()), None)
            if found is None:
                one = f"({attr}={escape_filter_chars(value[0])})"
                found = list(self.entries.matching([one], self.settings.read_attributes))
            if len(found) == 1:
                return found[0]
        return None

    def _entry_at(self, dn: str) -> _Entry | None:
        try:
            found = self.search.lookup(
                dn, ldap3.BASE, self.settings.account_filter, self.settings.read_attributes
            )
        except LdapError as exc:
            if exc.code == NO_SUCH_OBJECT:
                return None
            raise
        return found[0] if found else None

    def _adopted(self, entry: _Entry, identity: str) -> Created:
        external_id = self.entries.external_id(entry)
        if external_id is None:
            raise self.settings.error(
                f"{entry.dn} exists but has no {self.settings.id_attribute} to adopt it by"
            )
        owner = (
            entry.first(self.settings.identity_attribute)
            if self.settings.identity_attribute
            else None
        )
        if owner and owner != identity:
            raise self.settings.error(
                f"{entry.dn} already exists and belongs to identity '{owner}' "
                f"({self.settings.identity_attribute}); it is not adopted for '{identity}'"
            )
        return Created(external_id, adopted=True)

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        existing = self._find(attributes)
        if existing is not None:
            return self._adopted(existing, identity)
        name = _values(_get(attributes, self.settings.rdn_attribute))
        if len(name) != 1:
            raise self.settings.error(
                f"cannot name the new entry: {self.settings.rdn_attribute} "
                f"(the rdn_attribute) must have one value, not {name!r}"
            )
        container = self.settings.users_dn
        if not enabled and self.settings.disable.method == "ou":
            container = self.settings.disable.ou
        dn = f"{rdn_string(self.settings.rdn_attribute, name[0])},{container}"
        values = {attr: _values(value) for attr, value in attributes.items()}
        entry = {attr: vals for attr, vals in values.items() if vals}
        if self.settings.identity_attribute:
            entry[self.settings.identity_attribute] = [identity]
        if self.settings.disable.method == "attribute":
            if not enabled:
                entry[self.settings.disable.attribute] = [self.settings.disable.value]
            elif self.settings.disable.enabled_value is not None:
                entry[self.settings.disable.attribute] = [self.settings.disable.enabled_value]
        elif self.settings.disable.method == "active_directory":
            flags = _values(_get(attributes, self.settings.disable.attribute))
            current = int(flags[0]) if flags and flags[0].isdigit() else NORMAL_ACCOUNT
            entry[self.settings.disable.attribute] = [str(_with_flag(current, not enabled))]
        try:
            read = self.transport.op(f"add {dn}", lambda conn: self._add(conn, dn, entry))
        except LdapError as exc:
            if exc.code != ENTRY_ALREADY_EXISTS:
                raise
            # created meanwhile, by a concurrent apply or by hand: adopt it if it is an account
            again = self._entry_at(dn) or self._find(attributes)
            if again is None:
                raise
            return self._adopted(again, identity)
        created = read or self._entry_at(dn)
        external_id = self.entries.external_id(created) if created else None
        if external_id is None:
            raise self.settings.error(
                f"added {dn}, but cannot read back its {self.settings.id_attribute}"
            )
        self.entries.remember(created)  # type: ignore[arg-type]  # read back just above
        return Created(external_id, account=self.entries.snapshot(created, set()))  # type: ignore[arg-type]

    def _add(self, conn: Any, dn: str, entry: dict[str, list[str]]) -> _Entry | None:
        """Add the entry and, when the server honours the RFC 4527 post-read control, have
        it return the new entry's id in the same round trip; None otherwise."""
        binary_id = self.settings.id_attribute.lower() == "objectguid"
        controls = None if binary_id else [post_read_control(self.settings.read_attributes, False)]
        conn.add(dn, self.settings.object_classes, entry, controls=controls)
        control = ((conn.result or {}).get("controls") or {}).get(_POST_READ) or {}
        attributes = (control.get("value") or {}).get("result")
        if not attributes:
            return None
        values = {
            name.lower(): [v if isinstance(v, bytes) else str(v).encode() for v in vals]
            for name, vals in attributes.items()
        }
        return _Entry(dn, values)

    def link_account(self, external_id: str, link: str) -> None:
        """Write ``identity_attribute`` on an adopted entry, adding the object classes of
        ``object_classes`` it lacks (an entry made by hand seldom has the auxiliary class
        that allows the attribute); nothing when it holds the link already."""
        attr = self.settings.identity_attribute
        if not attr:
            raise self.settings.error(
                "connection.identity_attribute is not set: there is no attribute for the link"
            )
        entry = self.entries.require(external_id)
        if entry.first(attr) == link:
            return
        found = self.search.lookup(entry.dn, ldap3.BASE, "(objectClass=*)", ["objectClass"])
        has = {c.casefold() for e in found for c in e.strings("objectClass")}
        missing = [c for c in self.settings.object_classes if c.casefold() not in has]
        changes: dict[str, list[tuple[Any, list[str]]]] = {attr: [(ldap3.MODIFY_REPLACE, [link])]}
        if missing:
            changes["objectClass"] = [(ldap3.MODIFY_ADD, missing)]
        self.transport.modify(entry.dn, changes)

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        try:
            self._update_account(external_id, attributes)
        finally:
            self.entries.forget(external_id)  # it may have moved

    def _update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        entry = self.entries.require(external_id)
        before = self.entries.member_value(entry)
        dn = entry.dn
        changes: dict[str, list[tuple[Any, list[str]]]] = {}
        new_uid: str | None = None
        for attr, value in attributes.items():
            vals = _values(value)
            if attr.lower() == self.settings.member_uid_attribute.lower():
                new_uid = vals[0] if vals else None
            if attr.lower() == self.settings.rdn_attribute.lower():
                if len(vals) != 1:
                    raise self.settings.error(
                        f"{self.settings.rdn_attribute} names the entry {dn}; it needs one value, "
                        f"not {vals!r}"
                    )
                if rdn_value(dn, self.settings.rdn_attribute) != vals[0]:
                    dn = self._move(dn, rdn_string(self.settings.rdn_attribute, vals[0]), None)
                continue
            changes[attr] = [(ldap3.MODIFY_REPLACE, vals)]
        if changes:
            self.transport.modify(dn, changes)
        after = (new_uid or before) if self.settings.member_by_uid else dn
        if before and after and before != after:
            self._repoint(before, after)

    def _move(self, dn: str, new_rdn: str, new_superior: str | None) -> str:
        """modrdn (rename and/or move); the entry keeps its entryUUID. Returns the new DN."""
        parent = new_superior or split_rdn(dn)[1]
        self.transport.op(
            f"rename {dn} to {new_rdn},{parent}",
            lambda conn: conn.modify_dn(dn, new_rdn, delete_old_dn=True, new_superior=new_superior),
        )
        return f"{new_rdn},{parent}"

    def _repoint(self, old: str, new: str) -> None:
        """Groups that still hold the account's old DN (or uid) get the new one instead."""
        if not self.settings.groups_dn or self._same_member(old, new):
            return  # e.g. a DN that changed case only: the server sees the same member
        stale = self.search.lookup(
            self.settings.groups_dn,
            ldap3.SUBTREE,
            f"(&(objectClass={self.settings.group_class})"
            f"({self.settings.member_attribute}={escape_filter_chars(old)}))",
            [self.settings.group_name, self.settings.member_attribute],
        )
        for group in stale:
            # the values as the group holds them (DN case and spacing may differ)
            olds = [
                v
                for v in group.strings(self.settings.member_attribute)
                if self._same_member(v, old)
            ]
            holds_new = any(
                self._same_member(v, new) for v in group.strings(self.settings.member_attribute)
            )
            mods: list[tuple[Any, list[str]]] = []
            if not holds_new:
                mods.append((ldap3.MODIFY_ADD, [new]))
            if olds:
                mods.append((ldap3.MODIFY_DELETE, olds))
            if mods:
                self.transport.modify(group.dn, {self.settings.member_attribute: mods})

    def _same_member(self, a: str, b: str) -> bool:
        return self.entries.member_key(a) == self.entries.member_key(b)

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        try:
            self._set_enabled(external_id, enabled)
        finally:
            self.entries.forget(external_id)  # it may have moved

    def _set_enabled(self, external_id: str, enabled: bool) -> None:
        method = self.settings.disable.method
        if method == "none":
            raise self.settings.error(
                "this source cannot disable accounts: set connection.disable "
                "(method ou, attribute or active_directory)"
            )
        entry = self.entries.require(external_id)
        if self.entries.enabled(entry) == enabled:
            return
        dn = entry.dn
        if method == "ou":
            rdn = split_rdn(dn)[0]
            target = self.settings.users_dn if enabled else self.settings.disable.ou
            new_dn = self._move(dn, rdn, target)
            if not self.settings.member_by_uid:
                self._repoint(dn, new_dn)
        elif method == "attribute":
            if enabled:
                values = (
                    []
                    if self.settings.disable.enabled_value is None
                    else [self.settings.disable.enabled_value]
                )
            else:
                values = [self.settings.disable.value]
            change = {self.settings.disable.attribute: [(ldap3.MODIFY_REPLACE, values)]}
            self.transport.modify(dn, change)
        else:
            flags = entry.first(self.settings.disable.attribute)
            if flags is None or not flags.lstrip("-").isdigit():
                mods = [(ldap3.MODIFY_REPLACE, [str(_with_flag(NORMAL_ACCOUNT, not enabled))])]
            else:
                # delete the value read + add the new one: fails if someone changed it since
                new = str(_with_flag(int(flags), not enabled))
                mods = [(ldap3.MODIFY_DELETE, [flags]), (ldap3.MODIFY_ADD, [new])]
            try:
                self.transport.modify(dn, {self.settings.disable.attribute: mods})
            except LdapError as exc:
                if exc.code == NO_SUCH_ATTRIBUTE:
                    raise self.settings.error(
                        f"{exc.message} ({self.settings.disable.attribute} changed while being "
                        "updated; try again)",
                        retryable=True,
                    ) from exc
                raise

    def delete_account(self, external_id: str) -> None:
        self.entries.forget(external_id)  # it may move or go
        entry = self.entries.find_by_id(external_id)
        if entry is None:
            return
        member = self.entries.member_value(entry)
        if member:
            for group_dn in self.grants.groups_of(entry).values():
                try:
                    self.grants.remove_member(group_dn, member)
                except LdapError as exc:
                    if exc.code != NO_SUCH_OBJECT:  # the group went meanwhile: done
                        raise
        try:
            self.transport.op(f"delete {entry.dn}", lambda conn: conn.delete(entry.dn))
        except LdapError as exc:
            if exc.code != NO_SUCH_OBJECT:
                raise
