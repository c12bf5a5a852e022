"""The scim connector against SCIMMY, a SCIM 2.0 service provider from npm that nobody
on this team wrote (tests/support/scimmy_server.py), as a contract target.

With the `scimmy` quirk profile (see scim/_quirks.py). Pages of 5, so the contract's reads
cross pages; breaking the target ends the node
process (reads then meet a refused connection).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.scim import ScimConnector
from tests.support.scim_server import free_port
from tests.support.scimmy_server import scimmy_server
from tests.support.targets import Target
from tests.support.targets.scim import PAGE_SIZE, TOKEN_VARIABLE, account, scim_source


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    with scimmy_server() as server:
        server.create_group("staff")
        server.create_group("builders")
        context = ConnectorContext(root=tmp_path, environ={TOKEN_VARIABLE: server.token})

        def connector() -> ScimConnector:
            return ScimConnector("contract", scim_source(server.url, quirks="scimmy"), context)

        def change(ext: str, attr: str, value: str) -> None:
            server.patch("Users", ext, {"op": "replace", "path": attr, "value": value})

        def unreachable() -> ScimConnector:
            url = f"http://127.0.0.1:{free_port()}/scim/v2"
            return ScimConnector("contract", scim_source(url), context)

        yield Target(
            kind="scim+scimmy",
            connector=connector,
            account=account,
            name_attribute="userName",
            changeable="displayName",
            entitlements=("staff", "builders"),
            page_size=PAGE_SIZE,
            out_of_band_change=change,
            break_target=server.stop,
            unreachable=unreachable,
        )
