"""The scim connector against django-scim2 (PyPI), a SCIM 2.0 service provider nobody on
this team wrote, started as its own process (tests/support/django_scim_server.py): the
deviations found running the contract suite on it, each with its quirk. The contract
suite itself runs on it as the ``scim_django`` target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.apply.steps import verify
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.scim import ScimConnector
from accesshive.errors import ConnectorError
from accesshive.plan.orders import Change, Order
from tests.support.django_scim_server import DjangoScimServer, django_scim_server
from tests.support.targets.scim import TOKEN_VARIABLE, account, scim_source
from tests.support.targets.scim_django import django_account, django_source


@pytest.fixture(scope="module")
def server() -> Iterator[DjangoScimServer]:
    """One server for the module (each test makes its own users): it takes seconds to start."""
    with django_scim_server() as running:
        running.create_group("staff")
        running.create_group("builders")
        yield running


def connect(server: DjangoScimServer, root: Path, quirks: Any) -> ScimConnector:
    source = django_source(server.url, quirks=quirks)
    return ScimConnector("app", source, ConnectorContext(root, {TOKEN_VARIABLE: server.token}))


def group_id(server: DjangoScimServer, name: str) -> str:
    groups = server.http().get("Groups").json()["Resources"]
    return next(str(g["id"]) for g in groups if g["displayName"] == name)


def test_it_removes_a_member_only_when_named_in_the_value(
    server: DjangoScimServer, tmp_path: Path
) -> None:
    """django-scim2 answers the RFC's ``members[value eq "id"]`` path with 501: the
    generic revoke fails, ``member_removal: value`` (Entra's form) removes the member."""
    staff = group_id(server, "staff")
    with connect(server, tmp_path, {"profile": "generic"}) as generic:
        ext = generic.create_account("p1", django_account(101), True).external_id
        generic.grant(ext, "staff")
        with pytest.raises(ConnectorError) as info:
            generic.revoke(ext, "staff")
    assert "PATCH /Groups/" in info.value.message and "HTTP 501" in info.value.message
    assert ext in server.members(staff)
    for quirks in ("django-scim2", {"profile": "generic", "member_removal": "value"}):
        with connect(server, tmp_path, quirks) as conn:
            conn.grant(ext, "staff")
            conn.revoke(ext, "staff")
            conn.revoke(ext, "staff")  # not a member any more: done
            assert conn.get_account(ext).grants == []  # type: ignore[union-attr]
        assert ext not in server.members(staff)


def test_many_revokes_are_one_patch_naming_each_member(
    server: DjangoScimServer, tmp_path: Path
) -> None:
    builders = group_id(server, "builders")
    with connect(server, tmp_path, "django-scim2") as conn:
        ids = [conn.create_account(f"p{n}", django_account(n), True).external_id for n in (2, 3)]
        conn.grant_many("builders", ids)
        assert set(ids) <= set(server.members(builders))
        conn.revoke_many("builders", ids)
    assert not set(ids) & set(server.members(builders))


def test_a_user_patch_that_removes_is_not_implemented_so_users_are_put_back(
    server: DjangoScimServer, tmp_path: Path
) -> None:
    """Its User PATCH handles ``replace`` of a few attributes only; emptying one
    (``remove``) answers 501. ``user_patch: false`` reads the User and PUTs it back."""
    with connect(server, tmp_path, {"profile": "generic", "member_removal": "value"}) as generic:
        ext = generic.create_account("p4", django_account(4), True).external_id
        generic.update_account(ext, {"name.familyName": "Renamed"})  # a replace: taken
        with pytest.raises(ConnectorError) as info:
            generic.update_account(ext, {"name.familyName": ""})
    assert "PATCH /Users/" in info.value.message and "HTTP 501" in info.value.message
    with connect(server, tmp_path, "django-scim2") as conn:
        conn.update_account(ext, {"name.familyName": ""})
        conn.set_enabled(ext, False)
        conn.grant(ext, "staff")  # Groups keep PATCH: its PUT of a Group ignores members
        held = conn.get_account(ext)
    assert held is not None and held.grants == ["staff"] and held.enabled is False
    assert not held.attributes.get("name.familyName")
    stored = server.get("Users", ext)
    assert stored["name"]["familyName"] == "" and stored["emails"][0]["value"] == "u4@example.com"


def test_its_group_filter_finds_nothing_so_filters_are_off(
    server: DjangoScimServer, tmp_path: Path
) -> None:
    """It announces ``filter`` unsupported, and rightly: ``displayName eq "staff"``
    answers an empty list though the Group exists. Forced on, a grant finds no Group;
    the profile keeps filters off, whatever a deployment's ServiceProviderConfig says."""
    found = server.http().get("Groups", params={"filter": 'displayName eq "staff"'}).json()
    assert found["totalResults"] == 0
    config = server.http().get("ServiceProviderConfig").json()
    assert config["filter"]["supported"] is False
    forced = {"profile": "django-scim2", "filter": True}
    with connect(server, tmp_path, forced) as conn:
        ext = conn.create_account("p5", django_account(5), True).external_id
        with pytest.raises(ConnectorError, match="no Group named 'staff'"):
            conn.grant(ext, "staff")
    with connect(server, tmp_path, "django-scim2") as conn:
        conn.grant(ext, "staff")
        assert conn.get_account(ext).grants == ["staff"]  # type: ignore[union-attr]


def test_a_display_name_it_derives_is_named_by_verification(
    server: DjangoScimServer, tmp_path: Path
) -> None:
    """django-scim2 derives ``displayName`` and drops the one written (201, no error).
    No quirk can make it stick: verification says which attribute the target did not
    keep, and the README says to map the name instead."""
    source = scim_source(server.url, quirks="django-scim2")
    context = ConnectorContext(tmp_path, {TOKEN_VARIABLE: server.token})
    with ScimConnector("app", source, context) as conn:
        ext = conn.create_account("p6", account(6), True).external_id
        change = Change("create_account", "app", "p6", attributes=account(6))
        order = Order(id="o1", kind="create_account", change=change)
        problem = verify(conn, order, ext)
    assert problem == "displayName: expected 'User 6', target has 'user0006'"


def test_a_wrong_token_is_a_clear_non_retryable_error(
    server: DjangoScimServer, tmp_path: Path
) -> None:
    """Its 401 has an HTML body and no SCIM Error: the message still says what happened."""
    context = ConnectorContext(tmp_path, {TOKEN_VARIABLE: "not-the-token"})
    with ScimConnector("app", django_source(server.url), context) as conn:
        with pytest.raises(ConnectorError) as info:
            conn.check()
    assert "HTTP 401" in info.value.message and not info.value.retryable
    assert "not-the-token" not in str(info.value)
