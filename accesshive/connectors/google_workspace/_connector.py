"""``GoogleWorkspaceConnector``: the ``google_workspace`` connector, a small class that
composes collaborators.

Each collaborator is one class in its own module and gets what it needs in its
constructor, nothing by inheritance; the connector builds them in this order and only
delegates the ``Connector`` methods to them::

    settings     GwsSettings    _settings.py     connection keys, attribute paths, scopes
    session      GwsSession     _session.py      the API client, auth, Directory/Licensing URLs
    consistency  Consistency    _consistency.py  waiting out 404s right after our own changes
    reader       Reader         _reading.py      check, read, get_account, user/licence lookups
    users        UserOrders     _users.py        create, update, suspend, delete
    grants       GrantOrders    _grants.py       groups, licences, super admin
    groups       ManagedGroups  _groups.py       managed groups: create, rename, delete

State that lives for the connector's session sits with the one collaborator that owns
it: the API client (``session``), the primaryEmail of users seen (``reader``), users
just touched (``consistency``, shared by every instance). Pure helpers (field paths,
``fields=``) are in ``_values.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
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
from accesshive.connectors.google_workspace._consistency import Consistency
from accesshive.connectors.google_workspace._grants import GrantOrders
from accesshive.connectors.google_workspace._groups import ManagedGroups
from accesshive.connectors.google_workspace._reading import Reader
from accesshive.connectors.google_workspace._session import GwsSession
from accesshive.connectors.google_workspace._settings import GwsSettings
from accesshive.connectors.google_workspace._users import UserOrders
from accesshive.state.snapshot import SnapshotAccount, SnapshotGroup


class GoogleWorkspaceConnector(Connector):
    """Users, groups, licences and super admins in Google Workspace (see the package
    docstring)."""

    kind = "google_workspace"
    capabilities = Capabilities(order_kinds=WITH_GROUPS, page_size=500)

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        self.settings = GwsSettings(source_id, source, context, self.managed_groups())
        self.session = GwsSession(self.settings)
        self.consistency = Consistency(self.settings)
        parts = (self.settings, self.session, self.consistency)
        self.reader = Reader(*parts)
        self.users = UserOrders(*parts, self.reader)
        self.grants = GrantOrders(*parts, self.reader)
        self.groups = ManagedGroups(self.settings, self.session, self.grants)

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

    # -- user orders

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        return self.users.create_account(identity, attributes, enabled)

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        self.users.update_account(external_id, attributes)

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        self.users.set_enabled(external_id, enabled)

    def delete_account(self, external_id: str) -> None:
        self.users.delete_account(external_id)

    # -- grants (grant_many/revoke_many: the one-by-one default of Connector)

    def grant(self, external_id: str, entitlement: str) -> None:
        self.grants.grant(external_id, entitlement)

    def revoke(self, external_id: str, entitlement: str) -> None:
        self.grants.revoke(external_id, entitlement)

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
        self.session.close()
