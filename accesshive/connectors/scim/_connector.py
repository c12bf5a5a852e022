"""``ScimConnector``: the ``scim`` connector, composed of one mixin per concern.

Each layer builds on the one below and uses nothing above it::

    _ScimSettings        _settings.py    connection keys, attribute mapping
    └ _ScimSession       _session.py     HTTP clients, auth, _call, ScimError
      └ _ScimProbe       _probe.py       Service: what the target offers
        └ _Resources     _resources.py   list, page, fetch, modify; Groups by name
          ├ _Reading        _reading.py   check, read, get_account(s)
          ├ _AccountOrders  _accounts.py  create, update, enable/disable, delete
          ├ _GrantOrders    _grants.py    grant, revoke
          └ _ManagedGroups  _groups.py    managed groups: create, rename, delete

Pure helpers (schemas, paths, values) are in ``_values.py``.
"""

from __future__ import annotations

from accesshive.connectors.base import WITH_GROUPS, Capabilities
from accesshive.connectors.scim._accounts import _AccountOrders
from accesshive.connectors.scim._grants import _GrantOrders
from accesshive.connectors.scim._groups import _ManagedGroups
from accesshive.connectors.scim._reading import _Reading
from accesshive.connectors.scim._settings import DEFAULT_PAGE_SIZE


class ScimConnector(_Reading, _AccountOrders, _GrantOrders, _ManagedGroups):
    """Users and groups on a SCIM 2.0 service provider (see the package docstring)."""

    kind = "scim"
    capabilities = Capabilities(
        order_kinds=WITH_GROUPS, page_size=DEFAULT_PAGE_SIZE, membership_batches=True
    )
