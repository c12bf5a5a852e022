"""The ldap connector on a real OpenLDAP server (a fresh slapd per test), as a contract target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.ldap import LdapConnector
from tests.support import slapd
from tests.support.targets import Target

PAGE_SIZE = 5
PASSWORD_VARIABLE = "TEST_LDAP_PASSWORD"


def ldap_source(url: str, *, account: dict[str, Any] | None = None, **extra: Any) -> Source:
    """The contract source: inetOrgPerson accounts under ou=people, groupOfNames groups,
    disabled accounts moved to ou=disabled, pages of five."""
    return Source.model_validate(
        {
            "kind": "ldap",
            "connection": {
                **slapd.connection(url, PASSWORD_VARIABLE),
                "page_size": PAGE_SIZE,
                "connect_timeout": 2,
                "timeout": 10,
                **extra,
            },
            "account": account
            or {
                "name_attribute": "uid",
                "schema": {
                    "uid": {"required": True},
                    "cn": {"required": True},
                    "sn": {"required": True},
                    "mail": {"type": "email"},
                    "displayName": {},
                },
                "create": {"uid": "{{ id }}"},
                "sync": {
                    "cn": "{{ display_name }}",
                    "sn": "{{ family_name }}",
                    "mail": "{{ email }}",
                    "displayName": "{{ display_name }}",
                },
                "correlation": ["uid"],
            },
            "entitlements": {"staff": {}, "builders": {}, "vpn-users": {}},
        }
    )


def context(tmp_path: Path) -> ConnectorContext:
    return ConnectorContext(root=tmp_path, environ={PASSWORD_VARIABLE: slapd.ADMIN_PASSWORD})


def account(n: int) -> dict[str, Any]:
    return {
        "uid": f"user{n:04}",
        "cn": f"User {n}",
        "sn": f"Number{n}",
        "mail": f"u{n}@example.com",
        "displayName": f"User {n}",
    }


def dn_of(server: slapd.Slapd, external_id: str) -> str:
    import ldap3

    conn = server.admin()
    try:
        conn.search(slapd.SUFFIX, f"(entryUUID={external_id})", ldap3.SUBTREE, attributes=["1.1"])
        return str(conn.response[0]["dn"])
    finally:
        conn.unbind()


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from ldap_target(tmp_path)


def ldap_target(tmp_path: Path, **connection: Any) -> Iterator[Target]:
    """The contract target on a fresh slapd; ``connection`` adds settings to the source."""
    slapd.require()
    with slapd.slapd_server() as server:

        def connector() -> LdapConnector:
            source = ldap_source(server.url, **connection)
            return LdapConnector("contract", source, context(tmp_path))

        def change(ext: str, attr: str, value: str) -> None:
            import ldap3

            server.modify(dn_of(server, ext), {attr: [(ldap3.MODIFY_REPLACE, [value])]})

        def unreachable() -> LdapConnector:
            url = f"ldap://127.0.0.1:{slapd.free_port()}"
            return LdapConnector("contract", ldap_source(url), context(tmp_path))

        yield Target(
            kind="ldap",
            connector=connector,
            account=account,
            name_attribute="uid",
            changeable="displayName",
            entitlements=("staff", "builders"),
            page_size=PAGE_SIZE,
            out_of_band_change=change,
            break_target=server.stop,
            unreachable=unreachable,
            extras={"server": server},
        )
