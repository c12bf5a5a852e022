"""The ``ldap`` connector: accounts and groups in an LDAP directory (OpenLDAP, 389 DS,
Active Directory), through ldap3.

Accounts are the entries under ``users_dn`` (and the disabled OU) that match
``account_filter``; their attributes are the ones the source declares (``account.schema``,
``create`` and ``sync``), named as in the directory. A value comes back plain (the first
one), or as a sorted list when the schema says ``multi_valued``; ``integer``, ``number``
and ``boolean`` attributes are converted. An empty value in a write removes the attribute.

Creating first looks for the account by the correlation attributes and the RDN attribute
(in users_dn and the disabled OU) and adopts the one it finds; an add that still meets
entryAlreadyExists adopts the entry at that DN. An entry whose ``identity_attribute``
names another identity is never adopted.

Grants are group memberships: the groups under ``groups_dn`` are read once per read,
and their member DNs (normalised: case and spacing do not matter) or ``memberUid``
values are mapped to accounts. The entitlement name is the group's ``cn``.

Managed groups (entitlements declared ``managed: true``) are created under ``groups_dn``
holding ``empty_group_member``, carry their entitlement id in ``group_key_attribute``,
are renamed by a modrdn and deleted only when no member is left (``_managed.py``).

Renaming (a new value of ``rdn_attribute``) is a modrdn, so the entry keeps its
entryUUID; group memberships that still point at the old DN or uid are repointed,
whether or not the server runs the refint overlay. Deleting an account first takes it out
of its groups, so a later account with the same DN inherits nothing. Disabling by OU
moves the entry (modrdn with a new superior); enabling moves it back to ``users_dn``.

Reads fail closed: an error on any page, a referral or a ranged (partial) member list
raises ``ConnectorError``. Busy, unavailable, time limits, timeouts and lost or refused
connections are retryable; every other result code is not (nor are certificate
failures), and the message carries the server's own words.

Settings (the ``connection`` keys, with an example) are documented in ``_settings.py``.
``LdapConnector`` (``_connector.py``) is a small class that delegates each
``Connector`` method to a collaborator; each collaborator is one class in its own module,
given what it needs in its constructor (no inheritance between them):

- ``_settings``: ``LdapSettings``, the connection keys, checked once, then read-only
- ``_transport``: ``LdapTransport``, the connection, TLS, ``LdapError`` and error
  classification
- ``_search``: ``LdapSearch``, searches and the entries they return
- ``_account_entries``: ``AccountEntries``, which entries are accounts, their ids and
  snapshots
- ``_grants``: ``Grants``, group lookups, grant and revoke
- ``_reading``: ``Reader``, check, read, get_account, get_accounts
- ``_accounts``: ``AccountOrders``, create, update, enable/disable and delete orders
- ``_managed``: ``ManagedGroups``, managed groups: create, rename, delete
- ``_values``: value conversions; ``_ldap3``: the quiet ldap3 import

DN parsing lives beside the package, in ``accesshive.connectors.ldap._dn``.
"""

from __future__ import annotations

from accesshive.connectors.ldap._connector import LdapConnector
from accesshive.connectors.ldap._settings import KNOWN_KEYS
from accesshive.connectors.ldap._transport import LdapError

__all__ = ["KNOWN_KEYS", "LdapConnector", "LdapError"]
