"""``GoogleWorkspaceConnector``: the ``google_workspace`` connector, composed of one
mixin per concern.

Each layer builds on the one below and uses nothing above it::

    _GwsSettings        _settings.py     connection keys, attribute paths, scopes
    └ _GwsSession       _session.py      the API client, auth, Directory/Licensing URLs
      └ _Consistency    _consistency.py  waiting out 404s right after our own changes
        └ _Reading      _reading.py      check, read, get_account, user/licence lookups
          ├ _UserOrders   _users.py      create, update, suspend, delete
          └ _GrantOrders  _grants.py     groups, licences, super admin
            └ _ManagedGroups _groups.py  managed groups: create, rename, delete

Pure helpers (field paths, ``fields=``) are in ``_values.py``.
"""

from __future__ import annotations

from accesshive.connectors.base import WITH_GROUPS, Capabilities
from accesshive.connectors.google_workspace._groups import _ManagedGroups
from accesshive.connectors.google_workspace._users import _UserOrders


class GoogleWorkspaceConnector(_UserOrders, _ManagedGroups):
    """Users, groups, licences and super admins in Google Workspace (see the package
    docstring)."""

    kind = "google_workspace"
    capabilities = Capabilities(order_kinds=WITH_GROUPS, page_size=500)
