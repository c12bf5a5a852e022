"""Finding the connector for a source's ``kind``.

Built-in connectors are listed here; other packages add theirs through the
``accesshive.connectors`` entry point group (name = kind, value = the class).
Code running in the same process (a test suite, an application embedding
accesshive) may add one with ``register``; nothing in a configuration or the
environment can.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points

from accesshive.config.account_kinds import for_connector
from accesshive.config.config import Config
from accesshive.connectors.base import Connector, ConnectorContext, WriteLimits
from accesshive.errors import ConnectorError

BUILTIN = {
    "sql": "accesshive.connectors.sql:SqlConnector",
    "manual": "accesshive.connectors.manual:ManualConnector",
    "scim": "accesshive.connectors.scim:ScimConnector",
    "ldap": "accesshive.connectors.ldap:LdapConnector",
    "google_workspace": "accesshive.connectors.google_workspace:GoogleWorkspaceConnector",
}
ENTRY_POINT_GROUP = "accesshive.connectors"
_registered: dict[str, type[Connector]] = {}


def register(kind: str, cls: type[Connector]) -> None:
    """Make ``cls`` the connector of ``kind`` in this process (the tests' stand-ins).

    A built-in kind is never replaced."""
    if kind in BUILTIN:
        raise ValueError(f"'{kind}' is a built-in connector kind; it cannot be replaced")
    _registered[kind] = cls


def unregister(kind: str) -> None:
    _registered.pop(kind, None)


def connector_class(kind: str) -> type[Connector] | None:
    target = BUILTIN.get(kind)
    if target is not None:
        module, _, name = target.partition(":")
        mod = __import__(module, fromlist=[name])
        cls: type[Connector] = getattr(mod, name)
        return cls
    if kind in _registered:
        return _registered[kind]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            loaded: type[Connector] = ep.load()
            return loaded
    return None


def connector_for(
    config: Config, source_id: str, write_limits: WriteLimits | None = None
) -> Connector:
    source = config.sources[source_id]
    kind = str(source.connection.get("connector", source.kind))
    cls = connector_class(kind)
    if cls is None:
        raise ConnectorError(
            source_id,
            f"no connector for kind '{kind}' is installed; install a package that provides "
            f"one (entry point group '{ENTRY_POINT_GROUP}')",
        )
    return cls(
        source_id,
        for_connector(source),
        ConnectorContext(root=config.root, environ=dict(os.environ), write_limits=write_limits),
    )
