"""``LdapConnector``: the ``ldap`` connector, composed of one mixin per concern.

Each layer builds on the one below and uses nothing above it::

    _LdapSettings      _settings.py          connection keys, read and checked once
    └ _LdapTransport   _transport.py         the connection, one operation, LdapError
      └ _LdapSearch    _search.py            lookups and paged searches → _Entry
        └ _AccountEntries  _account_entries.py  accounts as entries, ids, snapshots
          └ _Grants    _grants.py            group lookups, grant, revoke
            ├ _Reading        _reading.py    check, read, get_account(s)
            │ └ _ManagedGroups _managed.py   managed groups: create, rename, delete
            └ _AccountOrders  _accounts.py   create, update, enable/disable, delete
"""

from __future__ import annotations

from accesshive.connectors.base import WITH_GROUPS, Capabilities
from accesshive.connectors.ldap._accounts import _AccountOrders
from accesshive.connectors.ldap._managed import _ManagedGroups


class LdapConnector(_ManagedGroups, _AccountOrders):
    """Accounts and groups in an LDAP directory (see the package docstring)."""

    kind = "ldap"
    capabilities = Capabilities(order_kinds=WITH_GROUPS, page_size=500, membership_batches=True)
