"""Targets for the connector contract suite: one module per connector (``memory``,
``sql_sqlite``, ``sql_postgresql``, ``scim``, ``ldap``, ``google_workspace``).

Each module defines ``make_target(request, tmp_path) -> Iterator[Target]``
(a pytest-style generator): it starts the real server (or the stand-in), yields
a ``Target``, and tears everything down. The contract tests discover the
modules here and run every test against every target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accesshive.connectors.base import Connector


@dataclass
class Target:
    kind: str
    connector: Callable[[], Connector]
    """A new connector for the contract source (each call a fresh instance)."""
    account: Callable[[int], dict[str, Any]]
    """Managed attributes of the n-th test account (names as the source declares them)."""
    name_attribute: str
    """The attribute that names the account (renaming changes it)."""
    changeable: str
    """A synced attribute the tests change (a plain string attribute)."""
    entitlements: tuple[str, str]
    """Two grantable entitlements that exist on the target."""
    page_size: int
    """How many accounts one page of a read holds, so tests can cross pages."""
    out_of_band_change: Callable[[str, str, str], None]
    """Change (external id, attribute, value) directly on the target, behind accesshive."""
    break_target: Callable[[], None]
    """Make the target fail from now on (stop the server, drop the table...)."""
    unreachable: Callable[[], Connector]
    """A connector pointed at an address where nothing answers."""
    extras: dict[str, Any] = field(default_factory=dict)
