"""The scim connector against SCIMMY (npm), a SCIM 2.0 service provider nobody on this
team wrote, started as a node process (tests/support/scimmy_server.py): the deviations
found running the contract suite on it, each with its quirk. The contract suite itself
runs on it as the ``scim_scimmy`` target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.scim import ScimConnector
from accesshive.errors import ConnectorError
from tests.support.scimmy_server import ScimmyServer, scimmy_server
from tests.support.targets.scim import TOKEN_VARIABLE, account, scim_source


@pytest.fixture
def server() -> Iterator[ScimmyServer]:
    with scimmy_server() as running:
        running.create_group("staff")
        running.create_group("builders")  # stays without members
        yield running


def connect(server: ScimmyServer, root: Path, quirks: Any) -> ScimConnector:
    source = scim_source(server.url, quirks=quirks)
    return ScimConnector("app", source, ConnectorContext(root, {TOKEN_VARIABLE: server.token}))


def test_its_member_filter_fails_on_a_group_without_members(
    server: ScimmyServer, tmp_path: Path
) -> None:
    """SCIMMY 1.3.5 answers ``filter=members.value eq "…"`` with 400 invalidValue while
    any Group has no members: reading one account's grants says which quirk avoids it."""
    with connect(server, tmp_path, "generic") as conn:
        ext = conn.create_account("p1", account(1), True).external_id
        conn.grant(ext, "staff")
        with pytest.raises(ConnectorError) as info:
            conn.get_account(ext)
    assert "HTTP 400 invalidValue" in info.value.message
    assert "set connection.quirks.member_filter: false" in info.value.message
    assert not info.value.retryable


@pytest.mark.parametrize("quirks", ["scimmy", {"profile": "generic", "member_filter": False}])
def test_member_filter_off_reads_grants_from_the_groups(
    quirks: Any, server: ScimmyServer, tmp_path: Path
) -> None:
    with connect(server, tmp_path, quirks) as conn:
        ext = conn.create_account("p1", account(1), True).external_id
        other = conn.create_account("p2", account(2), True).external_id
        conn.grant(ext, "staff")
        held = conn.get_account(ext)
        assert held is not None and held.grants == ["staff"]
        assert conn.get_account(other).grants == []  # type: ignore[union-attr]
        conn.revoke(ext, "staff")
        assert conn.get_account(ext).grants == []  # type: ignore[union-attr]


def test_it_answers_attribute_queries_without_schemas_and_is_still_read(
    server: ScimmyServer, tmp_path: Path
) -> None:
    """SCIMMY leaves ``schemas`` and ``meta`` out of a resource asked for with
    ``attributes=`` (as RFC 7644 §3.4.3's example does): read as the endpoint implies."""
    with connect(server, tmp_path, "scimmy") as conn:
        ext = conn.create_account("p3", account(3), True).external_id
        raw = server.http().get(f"Users/{ext}", params={"attributes": "userName"}).json()
        assert "schemas" not in raw and "meta" not in raw
        held = conn.get_account(ext)
        assert held is not None
        assert (held.enabled, held.attributes) == (True, account(3))
