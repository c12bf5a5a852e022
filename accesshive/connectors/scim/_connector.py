"""``ScimConnector``: the ``scim`` connector, a small class that composes collaborators.

Each collaborator is one class in its own module and gets what it needs in its
constructor, nothing by inheritance; the connector builds them in this order and only
delegates the ``Connector`` methods to them::

    settings   ScimSettings    _settings.py    connection keys, attribute mapping, quirks
    session    ScimSession     _session.py     HTTP clients, auth, call, ScimError
    probe      ServiceProbe    _probe.py       Service: what the target offers
    paging     Paging          _paging.py      one page, every page (fail closed)
    resources  Resources       _resources.py   fetch, modify; Groups by entitlement
    reader     Reader          _reading.py     check, read, get_account(s)
    accounts   AccountOrders   _accounts.py    create, update, enable/disable, delete
    grants     Grants          _grants.py      grant, revoke (one, or many of a Group)
    groups     ManagedGroups   _groups.py      managed groups: create, rename, delete

State that lives for the connector's session sits with the one collaborator that owns
it: the HTTP clients (``session``), the probed ``Service`` (``probe``), Group ids looked
up (``resources``). The wire (the httpx engine under scim2-client, auth, the write
limiter, failure classification) is ``_transport.py``; per-target quirks and lenient
reading ``_quirks.py``; pure helpers (schemas, paths, values) ``_values.py``.
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
from accesshive.connectors.scim._accounts import AccountOrders
from accesshive.connectors.scim._grants import Grants
from accesshive.connectors.scim._groups import ManagedGroups
from accesshive.connectors.scim._paging import Paging
from accesshive.connectors.scim._probe import ServiceProbe
from accesshive.connectors.scim._reading import Reader
from accesshive.connectors.scim._resources import Resources
from accesshive.connectors.scim._session import ScimSession
from accesshive.connectors.scim._settings import DEFAULT_PAGE_SIZE, ScimSettings
from accesshive.state.snapshot import SnapshotAccount, SnapshotGroup


class ScimConnector(Connector):
    """Users and groups on a SCIM 2.0 service provider (see the package docstring)."""

    kind = "scim"
    capabilities = Capabilities(
        order_kinds=WITH_GROUPS, page_size=DEFAULT_PAGE_SIZE, membership_batches=True
    )

    def __init__(self, source_id: str, source: Source, context: ConnectorContext) -> None:
        super().__init__(source_id, source, context)
        self.settings = ScimSettings(source_id, source, context, self.managed_groups())
        self.session = ScimSession(self.settings)
        self.probe = ServiceProbe(self.settings, self.session)
        self.paging = Paging(self.settings, self.session, self.probe)
        self.resources = Resources(self.settings, self.session, self.probe, self.paging)
        parts = (self.settings, self.session, self.probe, self.paging, self.resources)
        self.reader = Reader(*parts)
        self.accounts = AccountOrders(*parts)
        self.grants = Grants(*parts)
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

    def get_memberships(
        self, external_ids: Collection[str], entitlements: Collection[str]
    ) -> dict[str, set[str]]:
        return self.reader.get_memberships(external_ids, entitlements)

    # -- account orders

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        return self.accounts.create_account(identity, attributes, enabled)

    def update_account(
        self, external_id: str, attributes: Mapping[str, Any]
    ) -> SnapshotAccount | None:
        return self.accounts.update_account(external_id, attributes)

    def link_account(self, external_id: str, link: str) -> None:
        self.accounts.link_account(external_id, link)

    def set_enabled(self, external_id: str, enabled: bool) -> SnapshotAccount | None:
        return self.accounts.set_enabled(external_id, enabled)

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
        self.session.close()
        self.probe.forget()
