"""``LdapConnector``: the ``ldap`` connector, a small class that composes collaborators.

Each collaborator is one class in its own module and gets what it needs in its
constructor, nothing by inheritance; the connector builds them in this order and only
delegates the ``Connector`` methods to them::

    settings   LdapSettings    _settings.py          connection keys, read and checked once
    transport  LdapTransport   _transport.py         the connection, one operation, LdapError
    search     LdapSearch      _search.py            lookups and paged searches → _Entry
    entries    AccountEntries  _account_entries.py   accounts as entries, ids, snapshots
    grants     Grants          _grants.py            group lookups, grant, revoke
    reader     Reader          _reading.py           check, read, get_account(s)
    accounts   AccountOrders   _accounts.py          create, update, enable/disable, delete
    groups     ManagedGroups   _managed.py           managed groups: create, rename, delete

State that lives for the connector's session sits with the one collaborator that owns
it: the connection (``transport``), the member value of accounts seen (``entries``),
group DNs looked up (``grants``), correlation look-ups of a batch (``accounts``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from accesshive.config.model import Source
from accesshive.connectors.base import (
    WITH_GROUPS,
    Capabilities,
    Connector,
    ConnectorContext,
    Created,
    Page,
)
from accesshive.connectors.ldap._account_entries import AccountEntries
from accesshive.connectors.ldap._accounts import AccountOrders
from accesshive.connectors.ldap._grants import Grants
from accesshive.connectors.ldap._managed import ManagedGroups
from accesshive.connectors.ldap._reading import Reader
from accesshive.connectors.ldap._search import LdapSearch
from accesshive.connectors.ldap._settings import LdapSettings
from accesshive.connectors.ldap._transport import LdapTransport
from accesshive.state.snapshot import SnapshotAccount, SnapshotGroup


class LdapConnector(Connector):
    """Accounts and groups in an LDAP directory (see the package docstring)."""

    kind = "ldap"
    capabilities = Capabilities(
        order_kinds=WITH_GROUPS, page_size=500, membership_batches=True, read_back_complete=True
    )

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        self.settings = LdapSettings(source_id, source, context, self.managed_groups())
        self.transport = LdapTransport(self.settings)
        self.search = LdapSearch(self.settings, self.transport)
        self.entries = AccountEntries(self.settings, self.search)
        self.grants = Grants(self.settings, self.transport, self.search, self.entries)
        parts = (self.settings, self.transport, self.search, self.entries, self.grants)
        self.reader = Reader(*parts)
        self.accounts = AccountOrders(*parts)
        self.groups = ManagedGroups(*parts)

    # -- reading

    def check(self) -> None:
        self.reader.check()

    def read(self) -> Iterator[Page]:
        return self.reader.read()

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        return self.reader.get_account(external_id)

    def get_accounts(
        self, external_ids: Collection[str], entitlements: Collection[str] = ()
    ) -> dict[str, SnapshotAccount]:
        return self.reader.get_accounts(external_ids, entitlements)

    # -- account orders

    def prepare_creates(self, accounts: Sequence[Mapping[str, Any]]) -> None:
        self.accounts.prepare_creates(accounts)

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        return self.accounts.create_account(identity, attributes, enabled)

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        self.accounts.update_account(external_id, attributes)

    def link_account(self, external_id: str, link: str) -> None:
        self.accounts.link_account(external_id, link)

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        self.accounts.set_enabled(external_id, enabled)

    def delete_account(self, external_id: str) -> None:
        self.accounts.delete_account(external_id)

    # -- grants

    def grant(self, external_id: str, entitlement: str) -> None:
        self.grants.grant(external_id, entitlement)

    def revoke(self, external_id: str, entitlement: str) -> None:
        self.grants.revoke(external_id, entitlement)

    def grant_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        self.grants.grant_many(entitlement, external_ids)

    def revoke_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        self.grants.revoke_many(entitlement, external_ids)

    # -- managed groups

    def read_groups(self) -> list[SnapshotGroup]:
        return self.groups.read_groups()

    def get_group(self, entitlement: str) -> SnapshotGroup | None:
        return self.groups.get_group(entitlement)

    def create_group(self, entitlement: str, attributes: Mapping[str, Any]) -> Created:
        return self.groups.create_group(entitlement, attributes)

    def update_group(
        self, external_id: str, entitlement: str, attributes: Mapping[str, Any]
    ) -> None:
        self.groups.update_group(external_id, entitlement, attributes)

    def delete_group(self, external_id: str, entitlement: str) -> None:
        self.groups.delete_group(external_id, entitlement)

    def close(self) -> None:
        self.transport.close()

    def share_with(self, sibling: Connector) -> None:
        """One memory of where accounts are for all of a run's connectors of the source: a
        grant finds the DN of an account another connector created, or a rename another
        one made, without a search (``AccountEntries.share``)."""
        if isinstance(sibling, LdapConnector):
            self.entries.share(sibling.entries)
