"""Finding the connector for a source's ``kind``.

Built-in connectors are listed here; other packages add theirs through the
``accesshive.connectors`` entry point group (name = kind, value = the class).
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points

from accesshive.config.config import Config
from accesshive.connectors.base import Connector, ConnectorContext
from accesshive.errors import ConnectorError

BUILTIN = {
    "sql": "accesshive.connectors.sql:SqlConnector",
    "manual": "accesshive.connectors.manual:ManualConnector",
    "memory": "accesshive.connectors.memory:MemoryConnector",
    "scim": "accesshive.connectors.scim:ScimConnector",
    "ldap": "accesshive.connectors.ldap:LdapConnector",
    "google_workspace": "accesshive.connectors.google_workspace:GoogleWorkspaceConnector",
}
ENTRY_POINT_GROUP = "accesshive.connectors"


def connector_class(kind: str) -> type[Connector] | None:
    target = BUILTIN.get(kind)
    if target is not None:
        module, _, name = target.partition(":")
        mod = __import__(module, fromlist=[name])
        cls: type[Connector] = getattr(mod, name)
        return cls
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            loaded: type[Connector] = ep.load()
            return loaded
    return None


def connector_for(config: Config, source_id: str) -> Connector:
    source = config.sources[source_id]
    kind = str(source.connection.get("connector", source.kind))
    cls = connector_class(kind)
    if cls is None:
        raise ConnectorError(
            source_id,
            f"no connector for kind '{kind}' is installed; install a package that provides "
            f"one (entry point group '{ENTRY_POINT_GROUP}')",
        )
    return cls(source_id, source, ConnectorContext(root=config.root, environ=dict(os.environ)))
