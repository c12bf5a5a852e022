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
from accesshive.connectors.ldap._ldap3 import ldap3
from accesshive.connectors.ldap._parts import Collaborator
from accesshive.connectors.ldap._search import _Entry
from accesshive.state.snapshot import SnapshotAccount


class Reader(Collaborator):
    """check, read, get_account, get_accounts."""

    def check(self) -> None:
        self.transport.op(
            f"search {self.settings.users_dn}",
            lambda conn: conn.search(
                self.settings.users_dn, "(objectClass=*)", ldap3.BASE, attributes=["1.1"]
            ),
        )

    def _memberships(self) -> dict[str, set[str]]:
        """Member key (normalised DN or uid) → names of the groups that hold it."""
        held: dict[str, set[str]] = {}
        if not self.settings.groups_dn:
            return held
        for page in self.search.paged(
            self.settings.groups_dn,
            ldap3.SUBTREE,
            f"(objectClass={self.settings.group_class})",
            [*self.grants.group_attributes(), self.settings.member_attribute],
        ):
            for group in page:
                name = self.grants.entitlement_of(group)
                if not name:
                    continue
                self.grants.remember_group(name, group.dn)
                for member in group.strings(self.settings.member_attribute):
                    held.setdefault(self.entries.member_key(member), set()).add(name)
        return held

    def read(self) -> Iterator[Page]:
        held = self._memberships()
        seen: set[str] = set()
        yielded = False
        for base, scope in self.entries.bases():
            for entries in self.search.paged(
                base, scope, self.settings.account_filter, self.settings.read_attributes
            ):
                accounts = []
                for entry in entries:
                    member = self.entries.member_value(entry)
                    grants = held.get(self.entries.member_key(member), set()) if member else set()
                    account = self.entries.snapshot(entry, grants)
                    if account.external_id not in seen:
                        seen.add(account.external_id)
                        accounts.append(account)
                if accounts:
                    yielded = True
                    yield Page(accounts)
        if not yielded:
            yield Page([])

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        entry = self.entries.find_by_id(external_id)
        if entry is None:
            return None
        return self.entries.snapshot(entry, set(self.grants.groups_of(entry)))

    def get_accounts(
        self, external_ids: Collection[str], entitlements: Collection[str] = ()
    ) -> dict[str, SnapshotAccount]:
        """One search per ``FILTER_CHUNK`` accounts (an OR of their ids), a further base asked
        only for the ids not found yet (``AccountEntries.by_ids``); grants,
        when asked for, from the accounts' ``member_of_attribute`` when it is set, else one
        group search per account (not one per grant)."""
        filters = {i: f for i in dict.fromkeys(external_ids) if (f := self.entries.id_filter(i))}
        attributes = self.settings.read_attributes
        if entitlements and self.settings.member_of:
            attributes = [*attributes, self.settings.member_of]
        entries: dict[str, _Entry] = {}
        for entry in self.entries.by_ids(filters, attributes):
            external_id = self.entries.external_id(entry)
            if external_id in filters and external_id not in entries:
                entries[external_id] = entry
                self.entries.remember(entry)
        groups = {}  # normalised group DN → entitlement, for member_of_attribute
        if entitlements and self.settings.member_of:
            for name in entitlements:
                if (dn := self.grants.group_dn(name)) is not None:
                    groups[normalize_dn(dn)] = name
        return {
            external_id: self.entries.snapshot(
                entry, self._grants_among(entry, entitlements, groups)
            )
            for external_id, entry in entries.items()
        }

    def _grants_among(
        self, entry: _Entry, entitlements: Collection[str], groups: Mapping[str, str]
    ) -> set[str]:
        if not entitlements:
            return set()
        if not self.settings.member_of:
            return set(self.grants.groups_of(entry))
        held = set()
        for value in entry.strings(self.settings.member_of):
            with suppress(DnError):  # not a DN: not one of our groups
                if (name := groups.get(normalize_dn(value))) is not None:
                    held.add(name)
        return held
