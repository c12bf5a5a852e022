"""Reading of the ``ldap`` connector: the whole source, one account, or a batch of them.

``read`` takes every group's members once, then pages through the accounts under each
base, so grants come with the accounts; an account under two bases is read once.
``get_accounts`` (verify after a batch of orders) looks accounts up by an OR of their
ids, ``FILTER_CHUNK`` at a time, and takes grants from ``member_of_attribute`` when it
is set, else one group search per account.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import suppress

from accesshive.connectors.base import Page
from accesshive.connectors.ldap._dn import DnError, normalize_dn
from accesshive.connectors.ldap._grants import _Grants
from accesshive.connectors.ldap._ldap3 import ldap3
from accesshive.connectors.ldap._search import _Entry
from accesshive.state.snapshot import SnapshotAccount


class _Reading(_Grants):
    """check, read, get_account, get_accounts."""

    def check(self) -> None:
        self._op(
            f"search {self.users_dn}",
            lambda conn: conn.search(
                self.users_dn, "(objectClass=*)", ldap3.BASE, attributes=["1.1"]
            ),
        )

    def _memberships(self) -> dict[str, set[str]]:
        """Member key (normalised DN or uid) → names of the groups that hold it."""
        held: dict[str, set[str]] = {}
        if not self.groups_dn:
            return held
        for page in self._paged(
            self.groups_dn,
            ldap3.SUBTREE,
            f"(objectClass={self.group_class})",
            [*self._group_attributes(), self.member_attribute],
        ):
            for group in page:
                name = self._entitlement_of(group)
                if not name:
                    continue
                self._groups[name] = group.dn
                for member in group.strings(self.member_attribute):
                    held.setdefault(self._member_key(member), set()).add(name)
        return held

    def read(self) -> Iterator[Page]:
        held = self._memberships()
        seen: set[str] = set()
        yielded = False
        for base, scope in self._bases():
            for entries in self._paged(base, scope, self.account_filter, self.read_attributes):
                accounts = []
                for entry in entries:
                    member = self._member_value(entry)
                    grants = held.get(self._member_key(member), set()) if member else set()
                    account = self._snapshot(entry, grants)
                    if account.external_id not in seen:
                        seen.add(account.external_id)
                        accounts.append(account)
                if accounts:
                    yielded = True
                    yield Page(accounts)
        if not yielded:
            yield Page([])

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        entry = self._find_by_id(external_id)
        if entry is None:
            return None
        return self._snapshot(entry, set(self._groups_of(entry)))

    def get_accounts(
        self, external_ids: Collection[str], entitlements: Collection[str] = ()
    ) -> dict[str, SnapshotAccount]:
        """One search per ``FILTER_CHUNK`` accounts (an OR of their ids) per base; grants,
        when asked for, from the accounts' ``member_of_attribute`` when it is set, else one
        group search per account (not one per grant)."""
        filters = {i: f for i in dict.fromkeys(external_ids) if (f := self._id_filter(i))}
        attributes = self.read_attributes
        if entitlements and self.member_of:
            attributes = [*attributes, self.member_of]
        entries: dict[str, _Entry] = {}
        for entry in self._accounts_matching(list(filters.values()), attributes):
            external_id = self._external_id(entry)
            if external_id in filters and external_id not in entries:
                entries[external_id] = entry
                self._remember(entry)
        groups = {}  # normalised group DN → entitlement, for member_of_attribute
        if entitlements and self.member_of:
            for name in entitlements:
                if (dn := self._group_dn(name)) is not None:
                    groups[normalize_dn(dn)] = name
        return {
            external_id: self._snapshot(entry, self._grants_among(entry, entitlements, groups))
            for external_id, entry in entries.items()
        }

    def _grants_among(
        self, entry: _Entry, entitlements: Collection[str], groups: Mapping[str, str]
    ) -> set[str]:
        if not entitlements:
            return set()
        if not self.member_of:
            return set(self._groups_of(entry))
        held = set()
        for value in entry.strings(self.member_of):
            with suppress(DnError):  # not a DN: not one of our groups
                if (name := groups.get(normalize_dn(value))) is not None:
                    held.add(name)
        return held
