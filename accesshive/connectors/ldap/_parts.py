"""The constructor the connector's reading, account and managed-group parts share."""

from __future__ import annotations

from accesshive.connectors.ldap._account_entries import AccountEntries
from accesshive.connectors.ldap._grants import Grants
from accesshive.connectors.ldap._search import LdapSearch
from accesshive.connectors.ldap._settings import LdapSettings
from accesshive.connectors.ldap._transport import LdapTransport


class Collaborator:
    """What the reader, the account orders and the managed groups each work with: the
    checked settings, the connection, searches, account entries and group grants. One
    constructor for the three, so that where ``self.x`` comes from is said once."""

    def __init__(
        self,
        settings: LdapSettings,
        transport: LdapTransport,
        search: LdapSearch,
        entries: AccountEntries,
        grants: Grants,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.search = search
        self.entries = entries
        self.grants = grants
