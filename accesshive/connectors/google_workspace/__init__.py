"""The ``google_workspace`` connector: users, group memberships, licences and super-admin
status in a Google Workspace tenant, through the Admin SDK Directory API v1 (and the
Enterprise License Manager API for licences).

Accounts are users; the external id is the user's immutable ``id``. Account attributes
are flat names mapped to User fields: ``primaryEmail``, ``orgUnitPath``,
``givenName`` (``name.givenName``), ``familyName`` (``name.familyName``); any other
name is taken as a (dotted) field path, e.g. ``name.givenName`` or
``includeInGlobalAddressList``. Enabled is ``not suspended``. A ``password`` in
``create_account``/``update_account`` attributes is sent, never read back and never put
in a message; users.insert requires one, so a random one is set when none is given
(people then sign in through SSO or get a reset). The account's identity is not
stored in Google: accounts are linked by correlation (``primaryEmail``), and a
users.insert answered 409 "duplicate" adopts the user holding that primaryEmail (never
one holding it as an alias). Right after this connector creates or changes a user, a 404
for it is retried for up to ``consistency_seconds`` (Google is eventually consistent).

Entitlements are group emails (grant = members.insert, "Member already exists" is
done; revoke = members.delete, 404 is done), licences named in ``licenses`` (a grant
reassigns the user's other declared SKU of the same product: Google allows one per
product) and the ``super_admin`` entitlement (users.makeAdmin, read from ``isAdmin``).

Settings (the ``connection`` keys, with an example) are documented in ``_settings.py``.
``GoogleWorkspaceConnector`` (``_connector.py``) is a small class that delegates each
``Connector`` method to a collaborator; each collaborator is one class in its own module,
given what it needs in its constructor (no inheritance between them):

- ``_settings``: ``GwsSettings``, the connection keys, attribute paths and scopes,
  checked once, then read-only
- ``_session``: ``GwsSession``, the API client, authentication and URLs
- ``_consistency``: ``Consistency``, retrying a 404 right after our own change
- ``_reading``: ``Reader``, check, read, get_account(s)
- ``_users``: ``UserOrders``, create, update, suspend/unsuspend and delete orders
- ``_grants``: ``GrantOrders``, group, licence and super-admin grants and revokes
- ``_groups``: ``ManagedGroups``, managed groups: create, rename, delete
- ``_values``: field paths and ``fields=`` (pure)

The HTTP transport (auth, errors, paging) lives beside the package, in
``accesshive.connectors.google_workspace._client``.
"""

from __future__ import annotations

from accesshive.connectors.google_workspace._connector import GoogleWorkspaceConnector
from accesshive.connectors.google_workspace._settings import DEFAULT_ATTRIBUTE_MAP

__all__ = ["DEFAULT_ATTRIBUTE_MAP", "GoogleWorkspaceConnector"]
