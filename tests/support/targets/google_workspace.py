"""The google_workspace connector against the Admin SDK stand-in, as a contract target.

Pages of 5 users (``max_results``) so the suite crosses pages; a static bearer token
(``token: ${env:...}``) so no token endpoint is needed (the service-account path is
covered by tests/integration/test_google_workspace_connector.py).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.google_workspace import DEFAULT_ATTRIBUTE_MAP, GoogleWorkspaceConnector
from tests.support.gws_standin import GoogleStandIn
from tests.support.targets import Target

PAGE_SIZE = 5
GROUPS = ("staff@example.com", "builders@example.com")
TOKEN_VARIABLE = "GWS_STANDIN_TOKEN"


def gws_source(base_url: str, **extra: Any) -> Source:
    return Source.model_validate(
        {
            "kind": "google_workspace",
            "connection": {
                "base_url": base_url,
                "token": "${env:" + TOKEN_VARIABLE + "}",
                "customer_id": "C0standin",
                "max_results": PAGE_SIZE,
                "read_retry_delay": 0.01,
                "consistency_seconds": 3,
                **extra,
            },
            "account": {
                "name_attribute": "primaryEmail",
                "schema": {
                    "primaryEmail": {"type": "email", "required": True},
                    "givenName": {"required": True, "max_length": 60},
                    "familyName": {"required": True, "max_length": 60},
                    "orgUnitPath": {"case_exact": True},
                },
                "create": {"primaryEmail": "{{ email }}"},
                "sync": {
                    "givenName": "{{ given_name }}",
                    "familyName": "{{ family_name }}",
                    "orgUnitPath": "/Staff",
                },
                "correlation": ["primaryEmail"],
            },
            "entitlements": {group: {} for group in GROUPS},
        }
    )


def account(n: int) -> dict[str, Any]:
    return {
        "primaryEmail": f"user{n:04}@example.com",
        "givenName": "User",
        "familyName": f"Number {n}",
        "orgUnitPath": "/Staff",
    }


def standin() -> GoogleStandIn:
    api = GoogleStandIn(domains=("example.com",)).start()
    api.add_org_unit("/Staff")
    for group in GROUPS:
        api.add_group(group)
    return api


def context(tmp_path: Path, api: GoogleStandIn) -> ConnectorContext:
    return ConnectorContext(root=tmp_path, environ={TOKEN_VARIABLE: api.static_token})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    api = standin()

    def connector() -> GoogleWorkspaceConnector:
        return GoogleWorkspaceConnector("contract", gws_source(api.url), context(tmp_path, api))

    def change(ext: str, attr: str, value: str) -> None:
        api.set_user_field(ext, DEFAULT_ATTRIBUTE_MAP.get(attr, attr), value)

    def break_target() -> None:
        api.broken = True  # every call answers 503 backendError from now on

    def unreachable() -> GoogleWorkspaceConnector:
        source = gws_source(f"http://127.0.0.1:{free_port()}", timeout=5)
        return GoogleWorkspaceConnector("contract", source, context(tmp_path, api))

    try:
        yield Target(
            kind="google_workspace",
            connector=connector,
            account=account,
            name_attribute="primaryEmail",
            changeable="familyName",
            entitlements=GROUPS,
            page_size=PAGE_SIZE,
            out_of_band_change=change,
            break_target=break_target,
            unreachable=unreachable,
        )
    finally:
        api.stop()
