"""The scim connector against django-scim2, a SCIM 2.0 service provider from PyPI that
nobody on this team wrote (tests/support/django_scim_server.py), as a contract target.

With the ``django-scim2`` quirk profile (see scim/_quirks.py). django-scim2 derives
``displayName`` from the name and ignores the one written, so its accounts map
``name.givenName`` and ``name.familyName`` where the other SCIM targets map
``displayName``. Pages of 5, so the contract's reads cross pages; breaking the target
ends the server process (reads then meet a refused connection).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.scim import ScimConnector
from tests.support.django_scim_server import django_scim_server
from tests.support.scim_server import free_port
from tests.support.targets import Target
from tests.support.targets.scim import PAGE_SIZE, TOKEN_VARIABLE


def django_source(url: str, **extra: Any) -> Source:
    """The contract's account on attributes django-scim2 stores."""
    return Source.model_validate(
        {
            "kind": "scim",
            "connection": {
                "base_url": url,
                "token": f"${{env:{TOKEN_VARIABLE}}}",
                "page_size": PAGE_SIZE,
                "quirks": "django-scim2",
                **extra,
            },
            "account": {
                "name_attribute": "userName",
                "schema": {
                    "userName": {"required": True},
                    "email": {"type": "email"},
                    "name.givenName": {},
                    "name.familyName": {},
                },
                "create": {"userName": "{{ id }}"},
                "sync": {
                    "email": "{{ email }}",
                    "name.givenName": "{{ given_name }}",
                    "name.familyName": "{{ family_name }}",
                },
                "correlation": ["userName"],
            },
            "entitlements": {"staff": {}, "builders": {}},
        }
    )


def django_account(n: int) -> dict[str, Any]:
    return {
        "userName": f"user{n:04}",
        "email": f"u{n}@example.com",
        "name.givenName": "User",
        "name.familyName": f"Number {n}",
    }


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    with django_scim_server() as server:
        server.create_group("staff")
        server.create_group("builders")
        context = ConnectorContext(root=tmp_path, environ={TOKEN_VARIABLE: server.token})

        def connector() -> ScimConnector:
            return ScimConnector("contract", django_source(server.url), context)

        def change(ext: str, attr: str, value: str) -> None:
            server.patch("Users", ext, {"op": "replace", "path": attr, "value": value})

        def unreachable() -> ScimConnector:
            url = f"http://127.0.0.1:{free_port()}/scim/v2"
            return ScimConnector("contract", django_source(url), context)

        yield Target(
            kind="scim+django-scim2",
            connector=connector,
            account=django_account,
            name_attribute="userName",
            changeable="name.familyName",
            entitlements=("staff", "builders"),
            page_size=PAGE_SIZE,
            out_of_band_change=change,
            break_target=server.stop,
            unreachable=unreachable,
        )
