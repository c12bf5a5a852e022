"""The google_workspace connector against the Admin SDK stand-in (tests/support/gws_standin.py):
adoption, suspension, org units, memberships, licences, super admin, Google's error
classification, paging, eventual consistency, service-account auth and password hygiene."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.apply.steps import verify
from accesshive.config import load_config
from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.google_workspace import GoogleWorkspaceConnector
from accesshive.connectors.google_workspace._client import (
    SCOPE_GROUP,
    SCOPE_GROUP_MEMBER,
    SCOPE_LICENSING,
    SCOPE_USER,
)
from accesshive.connectors.registry import connector_for
from accesshive.errors import ConnectorError
from accesshive.plan.orders import Change, Order
from tests.conftest import EXAMPLES
from tests.support.gws_standin import GoogleStandIn, make_service_account_key
from tests.support.targets.google_workspace import TOKEN_VARIABLE, free_port

STAFF = "staff@example.com"
BUILDERS = "builders@example.com"
APPS = "Google-Apps"
STANDARD, PLUS = "1010020028", "1010020020"
ADMIN = "admin@example.com"
USERS = r"^/admin/directory/v1/users$"
SA_EMAIL = "accesshive@standin-project.iam.gserviceaccount.com"


@pytest.fixture
def api() -> Iterator[GoogleStandIn]:
    standin = GoogleStandIn(customer_id="C0standin", domains=("example.com",)).start()
    standin.add_org_unit("/Staff/Engineering")
    standin.add_org_unit("/Staff/Sales")
    standin.add_group(STAFF)
    standin.add_group(BUILDERS)
    standin.add_sku(APPS, STANDARD, "Google Workspace Business Standard")
    standin.add_sku(APPS, PLUS, "Google Workspace Enterprise Plus")
    try:
        yield standin
    finally:
        standin.stop()


def source(api: GoogleStandIn, **extra: Any) -> Source:
    connection: dict[str, Any] = {
        "base_url": api.url,
        "token": "${env:" + TOKEN_VARIABLE + "}",
        "customer_id": "C0standin",
        "max_results": 5,
        "read_retry_delay": 0.01,
        "consistency_seconds": 3,
        "licenses": {"standard": f"{APPS}/{STANDARD}", "enterprise-plus": f"{APPS}/{PLUS}"},
        "super_admin": "super-admin",
    }
    connection.update(extra)
    return Source.model_validate(
        {
            "kind": "google_workspace",
            "connection": {k: v for k, v in connection.items() if v is not None},
            "account": {
                "name_attribute": "primaryEmail",
                "schema": {
                    "primaryEmail": {"type": "email", "required": True},
                    "givenName": {"required": True},
                    "familyName": {"required": True},
                    "orgUnitPath": {"case_exact": True},
                },
                "create": {"primaryEmail": "{{ email }}"},
                "sync": {
                    "givenName": "{{ given_name }}",
                    "familyName": "{{ family_name }}",
                    "orgUnitPath": "/Staff/Engineering",
                },
                "correlation": ["primaryEmail"],
            },
            "entitlements": {
                STAFF: {},
                BUILDERS: {},
                "standard": {"type": "license"},
                "enterprise-plus": {"type": "license"},
                "super-admin": {"type": "role"},
            },
        }
    )


def connect(
    api: GoogleStandIn, tmp_path: Path, *, environ: dict[str, str] | None = None, **extra: Any
) -> GoogleWorkspaceConnector:
    env = {TOKEN_VARIABLE: api.static_token} if environ is None else environ
    return GoogleWorkspaceConnector(
        "gws", source(api, **extra), ConnectorContext(root=tmp_path, environ=env)
    )


@pytest.fixture
def conn(api: GoogleStandIn, tmp_path: Path) -> Iterator[GoogleWorkspaceConnector]:
    connector = connect(api, tmp_path)
    yield connector
    connector.close()


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "primaryEmail": f"person{n:03}@example.com",
        "givenName": "Person",
        "familyName": f"Number {n}",
        "orgUnitPath": "/Staff/Engineering",
        **extra,
    }


def everything(conn: GoogleWorkspaceConnector) -> dict[str, Any]:
    return {a.external_id: a for page in conn.read() for a in page.accounts}


# ---------------------------------------------------------------------------- users


def test_create_maps_flat_attributes_to_the_user_resource(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    created = conn.create_account("p1", person(1), True)
    user = api.user(created.external_id)
    assert user is not None
    assert user["primaryEmail"] == "person001@example.com"
    assert user["name"] == {
        "givenName": "Person",
        "familyName": "Number 1",
        "fullName": "Person Number 1",
    }
    assert user["orgUnitPath"] == "/Staff/Engineering"
    assert user["suspended"] is False
    assert len(api.state.passwords[created.external_id]) >= 8  # a random one: insert needs one
    account = conn.get_account(created.external_id)
    assert account is not None
    assert account.attributes == person(1)
    assert account.enabled and account.grants == []


def test_a_duplicate_is_adopted(api: GoogleStandIn, conn: GoogleWorkspaceConnector) -> None:
    existing = api.create_user("person002@example.com", "Person", "Number 2")
    created = conn.create_account("p2", person(2, primaryEmail="Person002@Example.com"), True)
    assert created.adopted and created.external_id == existing
    assert len(api.calls("POST", USERS)) == 1  # one insert, answered 409 duplicate
    assert len(api.state.users) == 1


def test_an_address_held_as_an_alias_or_by_a_group_is_not_adopted(
    api: GoogleStandIn, tmp_path: Path
) -> None:
    with connect(api, tmp_path, consistency_seconds=0.2) as conn:
        old = conn.create_account("p3", person(3), True).external_id
        conn.update_account(old, {"primaryEmail": "renamed003@example.com"})
        with pytest.raises(ConnectorError) as alias:
            conn.create_account("p3b", person(3), True)
        assert "alias of renamed003@example.com" in alias.value.message
        assert not alias.value.retryable
        with pytest.raises(ConnectorError) as group:
            conn.create_account("g", person(4, primaryEmail=STAFF), True)
        assert "Entity already exists" in group.value.message
        assert "no user has that address" in group.value.message


def test_suspended_is_enabled_reversed(api: GoogleStandIn, conn: GoogleWorkspaceConnector) -> None:
    ext = conn.create_account("p5", person(5), False).external_id
    assert api.user(ext)["suspended"] is True  # type: ignore[index]
    assert conn.get_account(ext).enabled is False  # type: ignore[union-attr]
    conn.set_enabled(ext, True)
    assert api.user(ext)["suspended"] is False  # type: ignore[index]
    assert everything(conn)[ext].enabled is True
    conn.set_enabled(ext, False)
    assert api.user(ext)["suspended"] is True  # type: ignore[index]
    patches = api.calls("PATCH", rf"/users/{ext}$")
    assert all(p.params.get("fields") == "id" for p in patches)


def test_org_unit_move_and_an_unknown_org_unit(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    ext = conn.create_account("p6", person(6), True).external_id
    conn.update_account(ext, {"orgUnitPath": "/Staff/Sales"})
    assert api.user(ext)["orgUnitPath"] == "/Staff/Sales"  # type: ignore[index]
    assert api.user(ext)["name"]["familyName"] == "Number 6"  # type: ignore[index]
    with pytest.raises(ConnectorError) as info:
        conn.update_account(ext, {"orgUnitPath": "/Nowhere"})
    assert "400 invalid: Invalid Input: INVALID_OU_ID" in info.value.message
    assert not info.value.retryable


def test_update_sends_only_what_it_names(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    ext = conn.create_account("p7", person(7), True).external_id
    conn.update_account(ext, {"givenName": "Ada"})
    user = api.user(ext)
    assert user is not None
    assert user["name"] == {
        "givenName": "Ada",
        "familyName": "Number 7",
        "fullName": "Ada Number 7",
    }
    conn.update_account(ext, {})  # nothing to send: no call
    assert len(api.calls("PATCH", rf"/users/{ext}$")) == 1


def test_delete_twice_is_done(api: GoogleStandIn, conn: GoogleWorkspaceConnector) -> None:
    ext = conn.create_account("p8", person(8), True).external_id
    conn.grant(ext, STAFF)
    conn.delete_account(ext)
    conn.delete_account(ext)  # 404: done
    assert conn.get_account(ext) is None
    assert api.group_members(STAFF) == {}


# ---------------------------------------------------------------------------- grants


def test_membership_grant_and_revoke_are_idempotent(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    ext = conn.create_account("p9", person(9), True).external_id
    conn.grant(ext, STAFF)
    conn.grant(ext, STAFF)  # 409 Member already exists: done
    assert api.group_members(STAFF) == {ext: "MEMBER"}
    conn.grant(ext, BUILDERS)
    conn.revoke(ext, BUILDERS)
    conn.revoke(ext, BUILDERS)  # 404: done
    conn.revoke("does-not-exist", STAFF)  # no such member: done
    assert conn.get_account(ext).grants == [STAFF]  # type: ignore[union-attr]
    assert everything(conn)[ext].grants == [STAFF]
    inserts = api.calls("POST", r"/groups/staff@example.com/members$")
    assert len(inserts) == 2


def test_grant_errors(api: GoogleStandIn, conn: GoogleWorkspaceConnector) -> None:
    ext = conn.create_account("p10", person(10), True).external_id
    with pytest.raises(ConnectorError) as missing_group:
        conn.grant(ext, "nobody@example.com")
    assert "404 notFound: Resource Not Found: groupKey" in missing_group.value.message
    assert not missing_group.value.retryable
    with pytest.raises(ConnectorError) as not_a_group:
        conn.grant(ext, "workspace-unknown")
    assert "not a group email" in not_a_group.value.message
    with pytest.raises(ConnectorError) as no_user:
        conn.grant("12345", STAFF)
    assert "no such user" in no_user.value.message


def test_member_role_is_configurable(api: GoogleStandIn, tmp_path: Path) -> None:
    with connect(api, tmp_path, member_role="manager") as conn:
        ext = conn.create_account("p11", person(11), True).external_id
        conn.grant(ext, STAFF)
    assert api.group_members(STAFF) == {ext: "MANAGER"}


def test_licences_are_assigned_reassigned_and_revoked(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    ext = conn.create_account("p12", person(12), True).external_id
    conn.grant(ext, "standard")
    conn.grant(ext, "standard")  # already held: done
    assert api.licensed(APPS, STANDARD) == {ext}
    assert conn.get_account(ext).grants == ["standard"]  # type: ignore[union-attr]
    conn.grant(ext, "enterprise-plus")  # one SKU per product: reassigned
    assert api.licensed(APPS, STANDARD) == set() and api.licensed(APPS, PLUS) == {ext}
    assert everything(conn)[ext].grants == ["enterprise-plus"]
    conn.revoke(ext, "standard")  # not held: done
    conn.revoke(ext, "enterprise-plus")
    conn.revoke(ext, "enterprise-plus")
    assert api.licensed(APPS, PLUS) == set()
    listing = api.calls("GET", r"/apps/licensing/v1/product/Google-Apps/sku/\d+/users$")
    assert listing and all(c.params["customerId"] == "C0standin" for c in listing)


def test_super_admin_follows_is_admin(api: GoogleStandIn, conn: GoogleWorkspaceConnector) -> None:
    ext = conn.create_account("p13", person(13), True).external_id
    conn.grant(ext, "super-admin")
    assert api.user(ext)["isAdmin"] is True  # type: ignore[index]
    assert "super-admin" in conn.get_account(ext).grants  # type: ignore[union-attr]
    assert everything(conn)[ext].grants == ["super-admin"]
    conn.revoke(ext, "super-admin")
    assert api.user(ext)["isAdmin"] is False  # type: ignore[index]


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (403, "rateLimitExceeded", "Rate Limit Exceeded"),
        (403, "userRateLimitExceeded", "User Rate Limit Exceeded"),
        (403, "quotaExceeded", "Quota exceeded for quota metric 'Queries'"),
        (429, "rateLimitExceeded", "Too Many Requests"),
        (500, "backendError", "Backend Error"),
        (503, "backendError", "Service unavailable. Please try again"),
    ],
)
def test_throttling_and_server_errors_are_retryable(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector, status: int, reason: str, message: str
) -> None:
    ext = conn.create_account("p20", person(20), True).external_id
    api.fail("PATCH", r"/users/", status, reason, message, domain="usageLimits", retry_after="7")
    with pytest.raises(ConnectorError) as info:
        conn.update_account(ext, {"givenName": "Later"})
    error = info.value
    assert error.retryable
    assert f"HTTP {status} {reason}: {message}" in error.message
    assert error.retry_after == 7.0
    conn.update_account(ext, {"givenName": "Later"})  # the fault was one-off
    assert api.user(ext)["name"]["givenName"] == "Later"  # type: ignore[index]


@pytest.mark.parametrize(
    ("status", "reason", "message"),
    [
        (400, "invalid", "Invalid Input: custom_schema"),
        (403, "forbidden", "Not Authorized to access this resource/api"),
        (403, "dailyLimitExceeded", "Daily Limit Exceeded"),
        (412, "conditionNotMet", "Precondition Failed"),
    ],
)
def test_bad_data_and_permissions_are_not_retryable(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector, status: int, reason: str, message: str
) -> None:
    api.fail("POST", USERS, status, reason, message)
    with pytest.raises(ConnectorError) as info:
        conn.create_account("p21", person(21), True)
    assert not info.value.retryable
    assert info.value.retry_after is None
    assert f"users.insert person021@example.com: HTTP {status} {reason}: {message}" in (
        info.value.message
    )


def test_a_proxy_page_and_a_timeout_and_a_refused_connection(
    api: GoogleStandIn, tmp_path: Path
) -> None:
    with connect(api, tmp_path, timeout=0.3, read_retries=0) as conn:
        api.fail("GET", USERS, 502, raw="<html><body>Bad Gateway</body></html>")
        with pytest.raises(ConnectorError) as proxy:
            conn.check()
        assert proxy.value.retryable and "HTTP 502: Bad Gateway" in proxy.value.message
        api.fail("GET", USERS, 200, delay=1.0)
        with pytest.raises(ConnectorError) as slow:
            conn.check()
        assert slow.value.retryable and "timed out" in slow.value.message
    port = free_port()
    with connect(api, tmp_path, base_url=f"http://127.0.0.1:{port}") as down:
        with pytest.raises(ConnectorError) as refused:
            list(down.read())
    assert refused.value.retryable and f"cannot reach http://127.0.0.1:{port}" in (
        refused.value.message
    )


def test_a_refused_static_token_is_not_retryable(api: GoogleStandIn, tmp_path: Path) -> None:
    with connect(api, tmp_path, environ={TOKEN_VARIABLE: "wrong"}) as conn:
        with pytest.raises(ConnectorError) as info:
            conn.check()
    assert "HTTP 401 authError" in info.value.message
    assert not info.value.retryable


def test_settings_are_checked(api: GoogleStandIn, tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match=r"connection\.credentials is not set"):
        connect(api, tmp_path, token=None).check()
    with pytest.raises(ConnectorError, match="not both"):
        connect(api, tmp_path, credentials="${env:KEY}").check()
    with pytest.raises(ConnectorError, match="integer from 1 to 500"):
        connect(api, tmp_path, max_results=501)
    with pytest.raises(ConnectorError, match="productId/skuId"):
        connect(api, tmp_path, licenses={"x": "Google-Apps"})
    with pytest.raises(ConnectorError, match="environment variable GWS_STANDIN_TOKEN"):
        connect(api, tmp_path, environ={}).check()
    with connect(api, tmp_path, customer_id=None) as conn:  # licences need a customer id
        with pytest.raises(ConnectorError, match="does not accept my_customer"):
            list(conn.read())


# ---------------------------------------------------------------------------- paging


def test_paging_follows_next_page_token_with_partial_responses(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    ids = [conn.create_account(f"p{n}", person(n), True).external_id for n in range(30, 42)]
    for ext in ids[:7]:
        conn.grant(ext, STAFF)
    for ext in ids[:3]:
        conn.grant(ext, "standard")
    api.requests.clear()
    pages = list(conn.read())
    assert [len(p.accounts) for p in pages] == [5, 5, 2]
    accounts = {a.external_id: a for p in pages for a in p.accounts}
    assert set(accounts) == set(ids)
    assert accounts[ids[0]].grants == [STAFF, "standard"]
    assert accounts[ids[5]].grants == [STAFF]
    assert accounts[ids[9]].grants == []
    assert accounts[ids[9]].attributes == person(39)
    users = api.calls("GET", USERS)
    assert [("pageToken" in c.params) for c in users] == [False, True, True]
    assert all(c.params["maxResults"] == "5" and c.params["customer"] == "C0standin" for c in users)
    assert users[0].params["fields"] == (
        "nextPageToken,users(id,isAdmin,name(familyName,givenName),orgUnitPath,primaryEmail,"
        "suspended)"
    )
    members = api.calls("GET", r"/groups/staff@example.com/members$")
    assert len(members) == 2  # 7 members, 5 a page
    assert members[0].params["fields"] == "nextPageToken,members(id,type)"


def test_an_empty_tenant_reads_as_one_empty_page(conn: GoogleWorkspaceConnector) -> None:
    pages = list(conn.read())
    assert len(pages) == 1 and pages[0].accounts == []


def test_a_domain_and_a_query_narrow_the_read(api: GoogleStandIn, tmp_path: Path) -> None:
    api.create_user("sales@example.com", orgUnitPath="/Staff/Sales")
    api.create_user("eng@example.com", orgUnitPath="/Staff/Engineering")
    with connect(api, tmp_path, domain="example.com", query="orgUnitPath='/Staff/Sales'") as conn:
        found = [a.attributes["primaryEmail"] for p in conn.read() for a in p.accounts]
    assert found == ["sales@example.com"]
    listing = api.calls("GET", USERS)[-1]
    assert listing.params["domain"] == "example.com" and "customer" not in listing.params


def test_a_failing_page_fails_the_whole_read(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    for n in range(50, 62):
        conn.create_account(f"p{n}", person(n), True)
    api.fail("GET", USERS, 503, "backendError", "Backend Error", skip=1, times=0)
    pages = iter(conn.read())
    assert len(next(pages).accounts) == 5
    with pytest.raises(ConnectorError) as info:
        list(pages)
    assert "users.list (page 2): HTTP 503 backendError: Backend Error" in info.value.message
    assert info.value.retryable
    assert len(api.calls("GET", USERS)) == 1 + 1 + 3  # page 1, page 2 and 3 retries


def test_a_throttled_page_is_asked_again(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    for n in range(70, 77):
        conn.create_account(f"p{n}", person(n), True)
    api.fail("GET", USERS, 403, "userRateLimitExceeded", "Rate Limit", skip=1, retry_after="0")
    api.fail("GET", r"/members$", 429, "rateLimitExceeded", "Too Many Requests", retry_after="0")
    assert len(everything(conn)) == 7


def test_a_failing_member_page_fails_the_read(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    api.fail(
        "GET",
        r"/groups/builders@example.com/members$",
        404,
        "notFound",
        "Resource Not Found: groupKey",
    )
    with pytest.raises(ConnectorError) as info:
        list(conn.read())
    assert "members.list builders@example.com (page 1): HTTP 404 notFound" in info.value.message


# ---------------------------------------------------------------------------- consistency


def _create_order(attrs: dict[str, Any]) -> Order:
    change = Change("create_account", "gws", "p", attributes=attrs, details={"enabled": True})
    return Order(id="o1", kind="create_account", change=change)


def test_verify_waits_out_eventual_consistency_after_create(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    api.consistency_delay = 0.8
    attrs = person(80)
    ext = conn.create_account("p80", attrs, True).external_id
    started = time.monotonic()
    assert verify(conn, _create_order(attrs), ext) is None
    assert time.monotonic() - started > 0.5  # it waited for the user to show up
    other = conn.create_account("p81", person(81), True).external_id
    conn.grant(other, STAFF)  # members.insert right after create: the 404s are waited out
    assert api.group_members(STAFF) == {other: "MEMBER"}
    gone = conn.create_account("p83", person(83), True).external_id
    conn.delete_account(gone)  # a 404 just after create is not "already deleted"
    assert api.user(gone) is None
    assert conn.get_account(gone) is None


def test_the_wait_is_bounded_and_only_for_users_we_just_changed(
    api: GoogleStandIn, tmp_path: Path
) -> None:
    api.consistency_delay = 5.0
    with connect(api, tmp_path, consistency_seconds=0.5) as conn:
        ext = conn.create_account("p82", person(82), True).external_id
        started = time.monotonic()
        assert verify(conn, _create_order(person(82)), ext) == f"account {ext} is not on the target"
        assert time.monotonic() - started < 4.0  # not the stand-in's 5 s delay
        other = api.create_user("elsewhere@example.com")  # not ours: a 404 is final at once
        before = len(api.calls("GET", "/users/"))
        assert conn.get_account(other) is None
        assert len(api.calls("GET", "/users/")) - before == 1  # asked once, never again


# ---------------------------------------------------------------------------- secrets


def test_the_password_is_sent_but_never_shown(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Tr0ub4dor&3-horse-battery"
    ext = conn.create_account("box", person(90, password=secret), True).external_id
    assert api.state.passwords[ext] == secret
    assert "password" not in conn.get_account(ext).attributes  # type: ignore[union-attr]
    api.fail("POST", USERS, 400, "invalid", "Invalid Input:", echo_body=True)
    with pytest.raises(ConnectorError) as insert:
        conn.create_account("box2", person(91, password=secret), True)
    api.fail("PATCH", r"/users/", 400, "invalid", "Invalid Password", echo_body=True)
    with pytest.raises(ConnectorError) as patch:
        conn.update_account(ext, {"password": secret})
    for error in (insert.value, patch.value):
        assert secret not in str(error) and secret not in error.message
        assert "***" in error.message
        assert error.__cause__ is None or secret not in str(error.__cause__)
    assert secret not in caplog.text
    assert api.static_token not in caplog.text  # nor the bearer token
    assert "person091@example.com" in insert.value.message


# ---------------------------------------------------------------------------- service account


def _service_account(api: GoogleStandIn, tmp_path: Path, scopes: set[str] | None = None) -> Path:
    key_json, public_key = make_service_account_key(SA_EMAIL, api.token_uri)
    api.register_service_account(SA_EMAIL, public_key, {ADMIN}, scopes)
    path = tmp_path / "gws-sa.json"
    path.write_text(key_json, encoding="utf-8")
    path.chmod(0o600)  # a key file others can read is refused
    return path


def test_a_service_account_with_domain_wide_delegation(api: GoogleStandIn, tmp_path: Path) -> None:
    key = _service_account(api, tmp_path)
    with connect(
        api, tmp_path, environ={}, token=None, credentials=f"${{file:{key.name}}}", subject=ADMIN
    ) as conn:
        ext = conn.create_account("p100", person(100), True).external_id
        conn.grant(ext, STAFF)
        conn.grant(ext, "standard")
        assert everything(conn)[ext].grants == [STAFF, "standard"]
        assert api.token_requests == 1  # cached until it expires
        api.revoke_tokens()
        assert conn.get_account(ext) is not None  # 401 → a new token → the call again
        assert api.token_requests == 2
    issued = [t for t, s in api.tokens.items() if t != api.static_token]
    assert api.tokens[issued[0]] == {SCOPE_USER, SCOPE_GROUP, SCOPE_GROUP_MEMBER, SCOPE_LICENSING}


def test_delegation_refusals_are_reported(api: GoogleStandIn, tmp_path: Path) -> None:
    key = _service_account(api, tmp_path, scopes={SCOPE_USER, SCOPE_GROUP})
    credentials = f"${{file:{key}}}"
    with connect(
        api, tmp_path, environ={}, token=None, credentials=credentials, subject=ADMIN
    ) as c:
        with pytest.raises(ConnectorError) as scopes:
            c.check()
    assert "unauthorized_client" in scopes.value.message and not scopes.value.retryable
    with connect(
        api, tmp_path, environ={}, token=None, credentials=credentials, subject="eve@example.com"
    ) as c:
        with pytest.raises(ConnectorError) as subject:
            c.check()
    assert "invalid_grant" in subject.value.message and not subject.value.retryable
    with connect(api, tmp_path, environ={}, token=None, credentials=credentials, subject=None) as c:
        with pytest.raises(ConnectorError, match=r"connection\.subject is not set"):
            c.check()
    (tmp_path / "not-a-key.json").write_text('{"type": "authorized_user"}', encoding="utf-8")
    (tmp_path / "not-a-key.json").chmod(0o600)
    with connect(
        api, tmp_path, environ={}, token=None, credentials="${file:not-a-key.json}", subject=ADMIN
    ) as c:
        with pytest.raises(ConnectorError, match="service_account"):
            c.check()


def test_the_token_endpoint_can_be_unreachable(api: GoogleStandIn, tmp_path: Path) -> None:
    key = _service_account(api, tmp_path)
    with connect(
        api,
        tmp_path,
        environ={},
        token=None,
        credentials=f"${{file:{key}}}",
        subject=ADMIN,
        token_uri=f"http://127.0.0.1:{free_port()}/token",
    ) as conn:
        with pytest.raises(ConnectorError) as info:
            conn.check()
    assert info.value.retryable and "token endpoint" in info.value.message


# ---------------------------------------------------------------------------- the example


def test_the_acme_source_builds_a_connector() -> None:
    config = load_config(EXAMPLES / "acme")
    conn = connector_for(config, "google-workspace")
    assert isinstance(conn, GoogleWorkspaceConnector)
    assert conn.settings.customer == "C03x7acme" and conn.settings.domain == "acme.example"
    assert conn.settings.licenses["workspace-business-standard"] == ("Google-Apps", "1010020028")
    assert conn.settings.super_admin == "super-admin"
    assert conn.settings.attribute_paths["givenName"] == "name.givenName"
    assert SCOPE_LICENSING in conn.settings.scopes
    groups = conn.reader.group_entitlements()
    assert groups and all("@" in g for g in groups)


def test_a_batched_read_back_reads_only_the_grants_it_is_about(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    """Verifying creates needs no group or licence read; group grants no licence read;
    and what is read is exact."""
    ids = [conn.create_account(f"p{n}", person(n), True).external_id for n in (40, 41)]
    conn.grant(ids[0], STAFF)
    conn.grant(ids[1], "standard")
    api.requests.clear()
    plain = conn.get_accounts(ids)
    assert [c.path for c in api.requests if "/groups" in c.path or "licensing" in c.path] == []
    assert {ext: a.grants for ext, a in plain.items()} == {ids[0]: [], ids[1]: []}
    api.requests.clear()
    staff = conn.get_accounts(ids, [STAFF])
    assert not [c for c in api.requests if "licensing" in c.path]
    assert {ext: a.grants for ext, a in staff.items()} == {ids[0]: [STAFF], ids[1]: []}
    both = conn.get_accounts(ids, [STAFF, "standard"])
    assert {ext: a.grants for ext, a in both.items()} == {ids[0]: [STAFF], ids[1]: ["standard"]}


def test_grants_after_a_create_need_no_lookup_of_the_email(
    api: GoogleStandIn, conn: GoogleWorkspaceConnector
) -> None:
    """members.insert names the user by email: the one the create returned is used, and
    a rename makes the next grant ask again."""
    ext = conn.create_account("p42", person(42), True).external_id
    api.requests.clear()
    conn.grant(ext, STAFF)
    conn.grant(ext, BUILDERS)
    assert not api.calls("GET", rf"/users/{ext}$")
    assert set(api.group_members(STAFF)) == {ext} and set(api.group_members(BUILDERS)) == {ext}
    conn.update_account(ext, {"primaryEmail": "p42.renamed@example.com"})
    conn.revoke(ext, BUILDERS)
    conn.grant(ext, BUILDERS)
    assert len(api.calls("GET", rf"/users/{ext}$")) == 1
    assert set(api.group_members(BUILDERS)) == {ext}
