"""The scim connector against a real scim2-server, directly and through a proxy that
reproduces the quirks of real targets (tests/support/scim_server.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.scim import ScimConnector
from accesshive.connectors.scim._transport import WriteLimiter
from accesshive.errors import ConnectorError
from tests.support.scim_server import (
    QuirkProxy,
    Recorded,
    Rules,
    ScimServer,
    free_port,
    quirk_proxy,
    scim_server,
)

TOKEN_VARIABLE = "SCIM_TEST_TOKEN"
SECRET_VARIABLE = "SCIM_TEST_CLIENT_SECRET"
ACCOUNT: dict[str, Any] = {
    "name_attribute": "userName",
    "schema": {
        "userName": {"required": True},
        "email": {"type": "email"},
        "displayName": {},
        "title": {},
    },
    "create": {"userName": "{{ id }}"},
    "sync": {"email": "{{ email }}", "displayName": "{{ display_name }}", "title": "{{ t }}"},
    "correlation": ["userName"],
}


@pytest.fixture
def server() -> Iterator[ScimServer]:
    with scim_server() as running:
        running.create_group("staff")
        running.create_group("builders")
        yield running


def connect(
    url: str,
    root: Path,
    token: str | None,
    *,
    account: dict[str, Any] | None = None,
    entitlements: tuple[str, ...] = ("staff", "builders"),
    environ: dict[str, str] | None = None,
    **connection: Any,
) -> ScimConnector:
    settings: dict[str, Any] = {"base_url": url, "page_size": 5, **connection}
    if token is not None:
        settings["token"] = f"${{env:{TOKEN_VARIABLE}}}"
    source = Source.model_validate(
        {
            "kind": "scim",
            "connection": settings,
            "account": account or ACCOUNT,
            "entitlements": {e: {} for e in entitlements},
        }
    )
    env = {TOKEN_VARIABLE: token or "", **(environ or {})}
    return ScimConnector("app", source, ConnectorContext(root=root, environ=env))


def person(n: int) -> dict[str, Any]:
    return {"userName": f"user{n}", "email": f"user{n}@example.com", "displayName": f"User {n}"}


def operations(request: Recorded) -> list[dict[str, Any]]:
    return list(request.body["Operations"])


# --------------------------------------------------------------------------- creating


def test_conflict_adopts_the_existing_account(server: ScimServer, tmp_path: Path) -> None:
    existing = server.create_user("alice", displayName="Alice")
    with quirk_proxy(server) as proxy, connect(proxy.url, tmp_path, server.token) as conn:
        created = conn.create_account("alice", {"userName": "ALICE", "displayName": "A"}, True)
        assert created.adopted and created.external_id == existing
        posts = proxy.sent("POST", "/Users")
        assert len(posts) == 1
        lookups = [r for r in proxy.sent("GET", "/Users") if "filter" in r.query]
        assert lookups[0].query["filter"] == 'userName eq "ALICE"'


def test_conflict_without_filter_support_pages_through_users(
    server: ScimServer, tmp_path: Path
) -> None:
    for n in range(7):
        server.create_user(f"user{n}")
    existing = server.create_user("bob")
    with quirk_proxy(server, Rules(no_filter=True)) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            created = conn.create_account("bob", {"userName": "bob"}, True)
        assert created.adopted and created.external_id == existing
        assert not [r for r in proxy.requests if "filter" in r.query]
        assert len(proxy.sent("GET", "/Users")) >= 2  # paged: 8 users, pages of 5


def test_create_writes_every_mapped_attribute(server: ScimServer, tmp_path: Path) -> None:
    account = {
        **ACCOUNT,
        "schema": {"userName": {}, "emails": {"type": "email", "multi_valued": True}},
        "create": {
            "userName": "{{ id }}",
            "name.givenName": "{{ g }}",
            "department": "{{ d }}",
            "password": "{{ p }}",
        },
        "sync": {"emails": "{{ e }}"},
    }
    with connect(
        server.url, tmp_path, server.token, account=account, identity_attribute="externalId"
    ) as conn:
        attrs = {
            "userName": "carol",
            "name.givenName": "Carol",
            "department": "Finance",
            "emails": ["carol@example.com", "c@example.com"],
            "password": "Gen3rated!",
        }
        ext = conn.create_account("carol", attrs, False).external_id
        stored = server.get("Users", ext)
        assert stored["active"] is False
        assert stored["externalId"] == "carol"
        assert stored["name"] == {"givenName": "Carol"}
        enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        assert stored[enterprise] == {"department": "Finance"}
        assert stored["emails"][0] == {
            "value": "carol@example.com",
            "type": "work",
            "primary": True,
        }
        account_read = conn.get_account(ext)
        assert account_read is not None
        assert account_read.identity == "carol" and account_read.enabled is False
        assert account_read.attributes == {
            "userName": "carol",
            "name.givenName": "Carol",
            "department": "Finance",
            "emails": ["carol@example.com", "c@example.com"],
        }  # the password is write-only: never read back


# --------------------------------------------------------------------------- updating


def test_patch_sends_only_changed_attributes(server: ScimServer, tmp_path: Path) -> None:
    ext = server.create_user("dave", displayName="Dave", title="Engineer")
    version = server.get("Users", ext)["meta"]["version"]
    with quirk_proxy(server) as proxy, connect(proxy.url, tmp_path, server.token) as conn:
        conn.update_account(ext, {"userName": "dave", "displayName": "David", "title": "Engineer"})
        (patch,) = proxy.sent("PATCH")
        assert operations(patch) == [{"op": "replace", "path": "displayName", "value": "David"}]
        assert patch.headers["if-match"] == version  # the ETag the read returned
        gets = proxy.sent("GET", f"/Users/{ext}")
        assert set(gets[-1].query["attributes"].split(",")) == {"userName", "displayName", "title"}
        proxy.clear()
        conn.update_account(ext, {"displayName": "David"})  # already so: nothing to send
        assert proxy.writes() == []
        conn.update_account(ext, {"title": ""})  # emptied: the attribute is removed
        (patch,) = proxy.sent("PATCH")
        assert operations(patch) == [{"op": "remove", "path": "title"}]
    assert "title" not in server.get("Users", ext)


def test_put_when_the_target_does_not_support_patch(server: ScimServer, tmp_path: Path) -> None:
    ext = server.create_user("erin", displayName="Erin", nickName="E")
    with quirk_proxy(server, Rules(no_patch=True)) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            conn.update_account(ext, {"displayName": "Erin B"})
            conn.set_enabled(ext, False)
            conn.grant(ext, "staff")
            conn.grant(ext, "staff")
            account = conn.get_account(ext)
            assert account is not None and account.grants == ["staff"] and not account.enabled
            conn.revoke(ext, "staff")
            conn.revoke(ext, "staff")
        assert proxy.sent("PATCH") == []
        puts = proxy.sent("PUT")
        assert len(puts) == 4  # displayName, active, grant, revoke (repeats were no-ops)
        assert all(p.headers.get("if-match", "").startswith('W/"') for p in puts)
    stored = server.get("Users", ext)
    assert stored["displayName"] == "Erin B" and stored["nickName"] == "E"  # kept
    assert stored["active"] is False


def test_okta_profile_puts_even_when_patch_is_announced(server: ScimServer, tmp_path: Path) -> None:
    ext = server.create_user("fay")
    with (
        quirk_proxy(server) as proxy,
        connect(proxy.url, tmp_path, server.token, quirks="okta") as conn,
    ):
        conn.update_account(ext, {"displayName": "Fay"})
        assert [r.method for r in proxy.writes()] == ["PUT"]
    assert server.get("Users", ext)["displayName"] == "Fay"


def test_a_concurrent_change_makes_the_conditional_write_fail_retryably(
    server: ScimServer, tmp_path: Path
) -> None:
    ext = server.create_user("gus")

    def race(request: Recorded) -> None:
        if request.method == "PATCH":
            server.patch("Users", ext, {"op": "replace", "path": "title", "value": "Other"})

    with quirk_proxy(server, Rules(before_forward=race)) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            with pytest.raises(ConnectorError) as info:
                conn.update_account(ext, {"displayName": "Gus"})
    assert info.value.retryable
    assert "412" in info.value.message and "PATCH /Users/" in info.value.message


# --------------------------------------------------------------------------- groups


def test_group_add_and_remove_with_the_path_filter(server: ScimServer, tmp_path: Path) -> None:
    ext = server.create_user("hal")
    other = server.create_user("ida")
    staff = server.create_group("Staff Team", members=[other])
    with quirk_proxy(server) as proxy:
        with connect(
            proxy.url,
            tmp_path,
            server.token,
            group_names={"staff-team": "Staff Team"},
            entitlements=("staff-team",),
        ) as conn:
            conn.grant(ext, "staff-team")
            conn.grant(ext, "staff-team")  # already a member: done
            assert server.members(staff) == sorted([ext, other])
            assert conn.get_account(ext).grants == ["staff-team"]  # type: ignore[union-attr]
            conn.revoke(ext, "staff-team")
            conn.revoke(ext, "staff-team")  # not a member: done
            conn.revoke(ext, "nonexistent-group")  # no such group: nobody holds it
        patches = proxy.sent("PATCH", f"/Groups/{staff}")
        assert operations(patches[0]) == [
            {"op": "add", "path": "members", "value": [{"value": ext}]}
        ]
        assert operations(patches[-1]) == [{"op": "remove", "path": f'members[value eq "{ext}"]'}]
    assert server.members(staff) == [other]


def test_grant_of_a_missing_group_is_a_clear_error(server: ScimServer, tmp_path: Path) -> None:
    ext = server.create_user("jan")
    with connect(server.url, tmp_path, server.token) as conn:
        with pytest.raises(ConnectorError) as info:
            conn.grant(ext, "ghosts")
    assert "no Group named 'ghosts'" in info.value.message and not info.value.retryable


def test_read_returns_grants_from_group_memberships(server: ScimServer, tmp_path: Path) -> None:
    users = [server.create_user(f"u{n}", displayName=f"U {n}") for n in range(12)]
    server.create_group("crew", members=users[::2])
    with quirk_proxy(server) as proxy, connect(proxy.url, tmp_path, server.token) as conn:
        pages = list(conn.read())
        asked = {r.query.get("attributes") for r in proxy.sent("GET", "/Users")}
    assert [len(p.accounts) for p in pages] == [5, 5, 2]
    assert {p.total for p in pages} == {12}
    held = {a.external_id: a.grants for p in pages for a in p.accounts}
    assert held == {u: (["crew"] if i % 2 == 0 else []) for i, u in enumerate(users)}
    assert asked == {"active,displayName,emails,title,userName"}


# --------------------------------------------------------------------------- quirk profiles


def test_entra_profile_capitalises_ops_and_sends_active_as_a_string(
    server: ScimServer, tmp_path: Path
) -> None:
    rules = Rules(capitalized_ops=True, active_as_string=True)
    with quirk_proxy(server, rules) as proxy:
        with connect(proxy.url, tmp_path, server.token) as generic:
            with pytest.raises(ConnectorError) as refused:
                generic.create_account("kim", {"userName": "kim"}, True)
        assert "HTTP 400 invalidValue: active must be the string" in refused.value.message
        assert not refused.value.retryable
        with connect(proxy.url, tmp_path, server.token, quirks="entra") as conn:
            ext = conn.create_account("kim", {"userName": "kim"}, True).external_id
            conn.set_enabled(ext, False)
            conn.update_account(ext, {"displayName": "Kim"})
            conn.grant(ext, "staff")
            account = conn.get_account(ext)
            assert account is not None
            assert account.enabled is False and account.grants == ["staff"]
            conn.revoke(ext, "staff")
        assert proxy.sent("POST", "/Users")[-1].body["active"] == "True"
        patches = proxy.sent("PATCH")
        assert operations(patches[0]) == [{"op": "Replace", "path": "active", "value": "False"}]
        assert [operations(p)[0]["op"] for p in patches] == ["Replace", "Replace", "Add", "Remove"]
    assert server.get("Users", ext)["active"] is False


def test_generic_ops_refused_by_a_strict_target_carry_its_message(
    server: ScimServer, tmp_path: Path
) -> None:
    ext = server.create_user("lou")
    with quirk_proxy(server, Rules(capitalized_ops=True)) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            with pytest.raises(ConnectorError) as info:
                conn.update_account(ext, {"displayName": "Lou"})
    assert "HTTP 400 invalidSyntax: unsupported op 'replace'" in info.value.message
    assert not info.value.retryable


def test_slack_profile_removes_members_by_replacing_the_list(
    server: ScimServer, tmp_path: Path
) -> None:
    ext, other = server.create_user("max"), server.create_user("ned")
    staff = server.create_group("crew", members=[ext, other])
    solo = server.create_group("solo", members=[ext])
    with quirk_proxy(server, Rules(replace_members_only=True)) as proxy:
        with connect(proxy.url, tmp_path, server.token) as generic:
            with pytest.raises(ConnectorError) as info:
                generic.revoke(ext, "crew")
        assert "invalidPath: members can only be replaced as a whole" in info.value.message
        with connect(
            proxy.url, tmp_path, server.token, quirks="slack", entitlements=("crew", "solo")
        ) as conn:
            conn.revoke(ext, "crew")
            conn.revoke(ext, "crew")  # not a member any more: nothing sent
            conn.revoke(ext, "solo")
        patches = proxy.sent("PATCH", "/Groups/")
        assert len(patches) == 3  # the refused one, then one per group
        assert operations(patches[1]) == [
            {"op": "replace", "path": "members", "value": [{"value": other}]}
        ]
        assert patches[1].headers["if-match"].startswith('W/"')
        assert operations(patches[2]) == [{"op": "remove", "path": "members"}]
    assert server.members(staff) == [other] and server.members(solo) == []


def test_pages_shorter_than_asked_are_continued(server: ScimServer, tmp_path: Path) -> None:
    users = {server.create_user(f"p{n}") for n in range(8)}
    with quirk_proxy(server, Rules(max_page_size=3)) as proxy:
        with connect(proxy.url, tmp_path, server.token, page_size=10) as conn:
            read = {a.external_id for p in conn.read() for a in p.accounts}
        starts = [r.query["startIndex"] for r in proxy.sent("GET", "/Users")]
        assert starts == ["1", "4", "7"] and read == users
        proxy.clear()
        proxy.rules.max_page_size = None
        quirks = {"profile": "generic", "max_page_size": 4}
        with connect(proxy.url, tmp_path, server.token, page_size=10, quirks=quirks) as conn:
            assert len(list(conn.read())) == 2
        assert {r.query["count"] for r in proxy.sent("GET", "/Users")} == {"4"}


def test_no_filter_quirk_finds_groups_and_accounts_by_paging(
    server: ScimServer, tmp_path: Path
) -> None:
    ext = server.create_user("olga")
    with quirk_proxy(server) as proxy:
        quirks = {"filter": False}
        with connect(proxy.url, tmp_path, server.token, quirks=quirks) as conn:
            conn.grant(ext, "builders")
            assert conn.get_account(ext).grants == ["builders"]  # type: ignore[union-attr]
            assert conn.create_account("olga", {"userName": "olga"}, True).adopted
        assert not [r for r in proxy.requests if "filter" in r.query]


# --------------------------------------------------------------------------- throttling


def test_client_side_write_rate_limit(server: ScimServer, tmp_path: Path) -> None:
    quirks = {"profile": "generic", "writes_per_minute": 600}  # 10 a second, bursts of 10
    with connect(server.url, tmp_path, server.token, quirks=quirks) as conn:
        conn.check()
        started = time.monotonic()
        for n in range(16):
            conn.delete_account(f"missing-{n}")  # a DELETE each (404: done)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.5


def test_write_limiter_is_a_token_bucket() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += seconds

    limiter = WriteLimiter(120, clock=lambda: now[0], sleep=sleep)  # 2 a second, bursts of 2
    for _ in range(4):
        limiter.acquire()
    assert slept == [0.5, 0.5]
    limiter.pause(3.0)
    limiter.acquire()
    assert slept[-1] == 3.0


def test_429_retry_after_is_retryable_and_pauses_writes(server: ScimServer, tmp_path: Path) -> None:
    with quirk_proxy(server, Rules(throttle_writes_every=2, retry_after="1")) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            conn.delete_account("a")
            with pytest.raises(ConnectorError) as info:
                conn.delete_account("b")
            assert info.value.retryable and info.value.retry_after == 1.0
            assert "HTTP 429" in info.value.message and "Too many requests" in info.value.message
            started = time.monotonic()
            conn.delete_account("b")
            assert time.monotonic() - started >= 0.8  # waited for the Retry-After


def test_a_throttled_read_page_is_retried_after_its_retry_after(
    server: ScimServer, tmp_path: Path
) -> None:
    for n in range(7):
        server.create_user(f"t{n}")
    with quirk_proxy(server, Rules(throttle_reads_every=2, retry_after="0")) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            accounts = [a for p in conn.read() for a in p.accounts]
        assert len(accounts) == 7
        assert len(proxy.sent("GET", "/Users")) > 2


# --------------------------------------------------------------------------- failing closed


def test_a_total_that_changes_during_the_read_fails_closed(
    server: ScimServer, tmp_path: Path
) -> None:
    for n in range(7):
        server.create_user(f"r{n}")
    with quirk_proxy(server, Rules(total_skew=1, skew_from=6)) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            with pytest.raises(ConnectorError) as info:
                list(conn.read())
    assert "totalResults changed during the read (7 then 8)" in info.value.message


def test_a_total_that_never_adds_up_fails_closed(server: ScimServer, tmp_path: Path) -> None:
    for n in range(7):
        server.create_user(f"s{n}")
    with quirk_proxy(server, Rules(total_skew=2)) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            with pytest.raises(ConnectorError) as info:
                list(conn.read())
    assert "an empty page with 2 of the 9 announced still unread" in info.value.message


def test_a_failing_page_fails_the_read(server: ScimServer, tmp_path: Path) -> None:
    for n in range(7):
        server.create_user(f"f{n}")
    with quirk_proxy(server, Rules(fail_page=6)) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            pages = conn.read()
            assert len(next(pages).accounts) == 5
            with pytest.raises(ConnectorError) as info:
                next(pages)
    assert "HTTP 500" in info.value.message and "startIndex=6" in info.value.message


# --------------------------------------------------------------------------- errors and auth


def test_a_wrong_token_is_a_clear_non_retryable_error(server: ScimServer, tmp_path: Path) -> None:
    with connect(server.url, tmp_path, "not-the-token") as conn:
        with pytest.raises(ConnectorError) as info:
            conn.check()
    assert not info.value.retryable
    assert "HTTP 401" in info.value.message
    assert "Authorization failure" in info.value.message
    assert "not-the-token" not in str(info.value)


def test_oauth_client_credentials(server: ScimServer, tmp_path: Path) -> None:
    rules = Rules(oauth_clients={"accesshive": "client-s3cret"})
    with quirk_proxy(server, rules) as proxy:
        oauth = {
            "token_url": proxy.token_url,
            "client_id": "accesshive",
            "client_secret": f"${{env:{SECRET_VARIABLE}}}",
            "scope": "scim",
        }
        environ = {SECRET_VARIABLE: "client-s3cret"}
        with connect(proxy.url, tmp_path, None, oauth=oauth, environ=environ) as conn:
            conn.check()
            assert list(conn.read())
        assert proxy.tokens_issued == 1  # fetched once, reused
        (token_request,) = proxy.sent("POST", "/oauth/token")
        assert token_request.body == {"grant_type": "client_credentials", "scope": "scim"}
        wrong = {SECRET_VARIABLE: "guess"}
        with connect(proxy.url, tmp_path, None, oauth=oauth, environ=wrong) as conn:
            with pytest.raises(ConnectorError) as info:
                conn.check()
    assert not info.value.retryable
    assert "invalid_client" in info.value.message and "guess" not in str(info.value)


def test_connection_failures_are_retryable(server: ScimServer, tmp_path: Path) -> None:
    with connect(f"http://127.0.0.1:{free_port()}/v2", tmp_path, "t") as conn:
        with pytest.raises(ConnectorError) as refused:
            conn.check()
    assert refused.value.retryable and "cannot reach" in refused.value.message
    with quirk_proxy(server) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            conn.check()
            proxy.rules.broken = True
            with pytest.raises(ConnectorError) as unavailable:
                conn.grant("x", "staff")
            assert unavailable.value.retryable and "HTTP 503" in unavailable.value.message
            proxy.rules.broken = False
            server.stop()
            with pytest.raises(ConnectorError) as gateway:
                list(conn.read())
    assert gateway.value.retryable and "HTTP 502" in gateway.value.message


def test_a_timeout_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v2"
        with connect(url, tmp_path, "t", timeout=0.3) as conn:
            with pytest.raises(ConnectorError) as info:
                conn.check()
    assert info.value.retryable and "timed out" in info.value.message


# --------------------------------------------------------------------------- capability probing


def test_check_probes_the_service_description(server: ScimServer, tmp_path: Path) -> None:
    with quirk_proxy(server) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            conn.check()
        paths = [r.path for r in proxy.requests]
        for endpoint in ("/v2/ServiceProviderConfig", "/v2/ResourceTypes", "/v2/Schemas"):
            assert endpoint in paths
        proxy.rules.hide_schema_attributes = {"title"}
        with connect(proxy.url, tmp_path, server.token) as conn:
            with pytest.raises(ConnectorError) as missing:
                conn.check()
        assert "does not have: title (title)" in missing.value.message
        proxy.rules.hide_schema_attributes = set()
        with connect(proxy.url, tmp_path, server.token, entitlements=("staff", "ghosts")) as conn:
            with pytest.raises(ConnectorError) as groups:
                conn.check()
        assert "no Group on the target for entitlement(s) ghosts" in groups.value.message


def test_bad_configuration_is_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="unknown quirk profile 'azure'"):
        connect("http://127.0.0.1:1/v2", tmp_path, "t", quirks="azure")
    with pytest.raises(ConnectorError, match="unknown quirk"):
        connect("http://127.0.0.1:1/v2", tmp_path, "t", quirks={"pagesize": 3})
    account = {**ACCOUNT, "sync": {"shoe_size": "{{ s }}"}}
    with pytest.raises(ConnectorError, match="'shoe_size' maps to 'shoe_size'"):
        connect("http://127.0.0.1:1/v2", tmp_path, "t", account=account)
    mapped = {"shoe_size": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division"}
    assert connect("http://127.0.0.1:1/v2", tmp_path, "t", account=account, attributes=mapped)
    with pytest.raises(ConnectorError, match=r"unknown key\(s\) base_uri"):
        connect("http://127.0.0.1:1/v2", tmp_path, "t", base_uri="http://x")
    with connect("ftp://example.com", tmp_path, "t") as conn:
        with pytest.raises(ConnectorError, match="base_url must be the http"):
            conn.check()


def test_a_target_without_groups_reads_accounts_without_grants(
    server: ScimServer, tmp_path: Path
) -> None:
    ext = server.create_user("quinn")
    with quirk_proxy(server, Rules(hide_groups=True)) as proxy:
        with connect(proxy.url, tmp_path, server.token) as conn:
            (page,) = list(conn.read())
            assert [(a.external_id, a.grants) for a in page.accounts] == [(ext, [])]
            with pytest.raises(ConnectorError, match="no Group"):
                conn.grant(ext, "staff")
            conn.revoke(ext, "staff")  # nobody can hold it: done
            with pytest.raises(ConnectorError, match="no Group resource type"):
                conn.check()
        assert not proxy.sent("GET", "/Groups")


def test_quirk_proxy_is_transparent_by_default(server: ScimServer) -> None:
    with quirk_proxy(server) as proxy:
        assert isinstance(proxy, QuirkProxy)
        through = ScimServer(proxy.url, server.token, server.storage, server.running)
        assert through.get("Groups", server.create_group("seen"))["displayName"] == "seen"
        assert proxy.sent("GET", "/Groups/")


# --------------------------------------------------------------------------- RFC 9865 cursors


def test_a_target_that_pages_only_by_cursor_is_read_whole_with_its_cursors(
    tmp_path: Path,
) -> None:
    """scim2-server announcing cursor pagination only (a startIndex answers 501), at most
    4 a page: every account and membership is read, by ``cursor=`` then each
    ``nextCursor``, and accounts found by an ``id eq`` filter the same way."""
    with scim_server(cursor_pages_of=4) as cursor_only:
        users = {cursor_only.create_user(f"c{n}") for n in range(10)}
        cursor_only.create_group("staff", [min(users)])
        with quirk_proxy(cursor_only) as proxy:
            with connect(proxy.url, tmp_path, cursor_only.token, page_size=50) as conn:
                pages = list(conn.read())
                wanted = sorted(users)[:6]
                found = conn.get_accounts(wanted, ["staff"])
            lists = proxy.sent("GET", "/Users")
        read = {a.external_id: a for p in pages for a in p.accounts}
        assert set(read) == users
        assert {i: a.grants for i, a in read.items() if a.grants} == {min(users): ["staff"]}
        assert sorted(found) == wanted and found[min(users)].grants == ["staff"]
        filtered = [r for r in lists if "filter" in r.query]
        assert len(filtered) == 2 and filtered[1].query["cursor"]  # 6 by id, 4 a page
        paged = [r for r in lists if "filter" not in r.query]
        assert [r.query.get("startIndex") for r in lists] == [None] * len(lists)
        assert paged[0].query["cursor"] == "" and len(paged) == 3  # 4 + 4 + 2
        assert all(r.query["cursor"] for r in paged[1:]) and len(pages) == 3
        # told not to use cursors, the read fails with the target's own reason
        quirks = {"profile": "generic", "cursor_paging": False}
        with connect(cursor_only.url, tmp_path, cursor_only.token, quirks=quirks) as conn:
            with pytest.raises(ConnectorError, match="Pagination by index is not supported"):
                list(conn.read())


def test_a_cursor_that_goes_round_in_circles_fails_the_read(tmp_path: Path) -> None:
    with scim_server(cursor_pages_of=3) as cursor_only:
        for n in range(7):
            cursor_only.create_user(f"r{n}")
        with quirk_proxy(cursor_only, Rules(circling_cursor=True)) as proxy:
            with connect(proxy.url, tmp_path, cursor_only.token) as conn:
                with pytest.raises(ConnectorError, match=r"already given.*nothing was kept"):
                    list(conn.read())
            # the first page's cursor, then the second one answered with itself: stop there
            assert len(proxy.sent("GET", "/Users")) == 2


def test_an_expired_cursor_fails_the_read_and_says_how_to_read_again(tmp_path: Path) -> None:
    with scim_server(cursor_pages_of=3) as cursor_only:
        for n in range(5):
            cursor_only.create_user(f"x{n}")
        with quirk_proxy(cursor_only, Rules(expired_cursor=True)) as proxy:
            with connect(proxy.url, tmp_path, cursor_only.token) as conn:
                with pytest.raises(ConnectorError) as failed:
                    list(conn.read())
    message = str(failed.value)
    assert "cursor expired after 3 resources; nothing was kept, read again" in message
    assert "quirks.cursor_paging: false" in message
