"""The scim connector against a real scim2-server, as a contract target.

Pages of 5, so the contract's reads cross pages; breaking the target stops the
server (reads then meet a refused connection).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.scim import ScimConnector
from tests.support.scim_quirk_proxy import read_quirk_proxy
from tests.support.scim_server import free_port, scim_server
from tests.support.targets import Target

PAGE_SIZE = 5
TOKEN_VARIABLE = "SCIM_CONTRACT_TOKEN"


def scim_source(url: str, **extra: Any) -> Source:
    return Source.model_validate(
        {
            "kind": "scim",
            "connection": {
                "base_url": url,
                "token": f"${{env:{TOKEN_VARIABLE}}}",
                "page_size": PAGE_SIZE,
                **extra,
            },
            "account": {
                "name_attribute": "userName",
                "schema": {
                    "userName": {"required": True},
                    "email": {"type": "email"},
                    "displayName": {},
                },
                "create": {"userName": "{{ id }}"},
                "sync": {"email": "{{ email }}", "displayName": "{{ display_name }}"},
                "correlation": ["userName"],
            },
            "entitlements": {"staff": {}, "builders": {}},
        }
    )


def account(n: int) -> dict[str, Any]:
    return {"userName": f"user{n:04}", "email": f"u{n}@example.com", "displayName": f"User {n}"}


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from scim_target(tmp_path)


def scim_target(tmp_path: Path, quirks: tuple[str, ...] = ()) -> Iterator[Target]:
    """scim2-server, answering directly or, with ``quirks``, through the quirk proxy
    process (tests/support/scim_quirk_proxy.py) the way the quirks' providers do."""
    with scim_server() as server, ExitStack() as stack:
        server.create_group("staff")
        server.create_group("builders")
        context = ConnectorContext(root=tmp_path, environ={TOKEN_VARIABLE: server.token})
        url = server.url
        if quirks:
            url = stack.enter_context(read_quirk_proxy(server.url, quirks))

        def connector() -> ScimConnector:
            return ScimConnector("contract", scim_source(url), context)

        def change(ext: str, attr: str, value: str) -> None:
            server.patch("Users", ext, {"op": "replace", "path": attr, "value": value})

        def unreachable() -> ScimConnector:
            url = f"http://127.0.0.1:{free_port()}/v2"
            return ScimConnector("contract", scim_source(url), context)

        yield Target(
            kind="scim" + ("+" + ",".join(quirks) if quirks else ""),
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
