"""Reading SCIM targets that answer the way real service providers do (RFC 7644 §3.4.3's
own example, scimgateway, Microsoft's reference code, Snipe-IT, WSO2 ...): a real
scim2-server behind the quirk proxy process of tests/support/scim_quirk_proxy.py, which
names whose behaviour each quirk reproduces. Writes stay RFC-conformant; reads and
verification never fail on representation alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.apply.steps import verify
from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.scim import ScimConnector
from accesshive.errors import ConnectorError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.orders import Change, Order
from tests.support.scim_quirk_proxy import READ_QUIRKS, read_quirk_proxy
from tests.support.scim_server import ScimServer, scim_server

TODAY = dt.date(2026, 11, 29)
TOKEN_VARIABLE = "SCIM_LENIENT_TOKEN"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def server() -> Iterator[ScimServer]:
    with scim_server() as running:
        running.create_group("staff")
        yield running


def connect(url: str, root: Path, token: str, page_size: int = 100) -> ScimConnector:
    source = Source.model_validate(
        {
            "kind": "scim",
            "connection": {
                "base_url": url,
                "token": f"${{env:{TOKEN_VARIABLE}}}",
                "page_size": page_size,
            },
            "account": {
                "name_attribute": "userName",
                "schema": {
                    "userName": {"required": True},
                    "email": {"type": "email"},
                    "displayName": {},
                    "employeeNumber": {},
                },
                "create": {"userName": "{{ id }}"},
                "sync": {"email": "{{ email }}", "displayName": "{{ n }}"},
                "correlation": ["userName"],
            },
            "entitlements": {"staff": {}},
        }
    )
    context = ConnectorContext(root=root, environ={TOKEN_VARIABLE: token})
    return ScimConnector("app", source, context)


ADA = {
    "userName": "ada",
    "email": "ada@example.com",
    "displayName": "Ada Lovelace",
    "employeeNumber": "1042",
}


@pytest.mark.parametrize("quirk", READ_QUIRKS)
def test_a_target_answering_like_a_real_provider_is_read_and_verified(
    quirk: str, server: ScimServer, tmp_path: Path
) -> None:
    """Create, grant, update, disable and read back through a provider with one quirk:
    every order is verified against what the target holds, and a real difference is
    still one."""
    with read_quirk_proxy(server.url, [quirk]) as url, connect(url, tmp_path, server.token) as conn:
        created = conn.create_account("ada", ADA, True)
        order = Order(
            id="o1",
            kind="create_account",
            change=Change("create_account", "app", "ada", attributes=ADA),
        )
        assert verify(conn, order, created.external_id) is None
        assert verify(conn, order, None) == "no account id to verify"  # nothing was created
        ext = created.external_id
        conn.grant(ext, "staff")
        conn.update_account(ext, {"displayName": "Ada King"})
        conn.set_enabled(ext, False)
        held = server.get("Users", ext)
        assert (held["displayName"], held["active"]) == ("Ada King", False)
        assert held[ENTERPRISE]["employeeNumber"] == "1042"  # sent as the RFC says
        account = conn.get_account(ext)
        assert account is not None
        assert (account.enabled, account.grants) == (False, ["staff"])
        assert account.attributes == {**ADA, "displayName": "Ada King"}
        [read] = [a for page in conn.read() for a in page.accounts]
        assert (read.enabled, read.grants, read.attributes) == (
            False,
            ["staff"],
            account.attributes,
        )
        assert conn.get_accounts([ext], ["staff"])[ext] == account
        conn.set_enabled(ext, True)
        assert conn.get_account(ext).enabled is True  # type: ignore[union-attr]
        server.patch("Users", ext, {"op": "replace", "path": "displayName", "value": "Mallory"})
        difference = verify(conn, order, ext)
        assert difference is not None and "displayName" in difference


def test_the_rfc_example_answer_no_longer_fails_apply(
    server: ScimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported failure: a target answering ``GET /Users/{id}?attributes=`` without
    ``schemas`` or ``meta`` (RFC 7644 §3.4.3) left creates and grants ``errored``,
    updates unsent and a leaver's disable ``blocked``. Now every order is verified."""
    monkeypatch.setenv(TOKEN_VARIABLE, server.token)
    with read_quirk_proxy(server.url, ["rfc-3.4.3"]) as url:
        repo = _repository(tmp_path / "repo", url)
        states = _apply(repo)
        assert set(states.values()) == {"verified"}, states
        assert {a for a, _ in states} >= {"create_account", "grant"}
        users = {u["userName"]: u for u in server.http().get("Users").json()["Resources"]}
        assert set(users) == {"ada.lovelace", "alan.turing"}
        assert server.members(_group(server, "staff")) == sorted(u["id"] for u in users.values())

        _ada_renamed_and_alan_leaving(repo)
        users = {u["userName"]: u for u in server.http().get("Users").json()["Resources"]}
        assert users["ada.lovelace"]["displayName"] == "Ada King"
        assert users["alan.turing"]["active"] is False


def _group(server: ScimServer, name: str) -> str:
    groups = server.http().get("Groups").json()["Resources"]
    return str(next(g["id"] for g in groups if g["displayName"] == name))


def _apply(repo: Path) -> dict[tuple[str, str], str]:
    plan = plan_repository(repo, TODAY, store=StoreRef(), allow_mass_changes=True)
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    return {
        (o.action, o.change.identity): result.states[o.id]
        for o in plan.orders
        if o.change.source == "app"
    }


def _ada_renamed_and_alan_leaving(repo: Path) -> None:
    """Ada is renamed Ada King and Alan goes on leave; apply then sends exactly her
    update and his disable, and verifies both."""
    people = repo / "identities.yaml"
    text = people.read_text().replace("Ada Lovelace", "Ada King")
    people.write_text(text.replace("state: active  # alan", "state: leave  # alan"))
    states = _apply(repo)
    assert sorted(states) == [
        ("disable_account", "alan.turing"),
        ("update_account", "ada.lovelace"),
    ]
    assert set(states.values()) == {"verified"}, states


def _repository(root: Path, url: str) -> Path:
    root.mkdir(parents=True)
    files: dict[str, Any] = {
        "accesshive.yaml": f"""
version: 1
name: lenient
identity_attributes:
  full_name: {{type: string, required: true}}
  email: {{type: email, required: true}}
sources:
  app:
    kind: scim
    connection: {{base_url: "{url}", token: "${{env:{TOKEN_VARIABLE}}}"}}
    account:
      name_attribute: userName
      schema:
        userName: {{required: true}}
        email: {{type: email}}
        displayName: {{}}
      create: {{userName: "{{{{ id }}}}"}}
      sync: {{email: "{{{{ email }}}}", displayName: "{{{{ full_name }}}}"}}
      correlation: [userName]
    entitlements:
      staff: {{}}
access_profiles:
  app-staff: {{source: app, entitlements: [staff]}}
roles:
  staff: {{access_profiles: [app-staff]}}
""",
        "identities.yaml": """
identities:
  ada.lovelace:
    type: human
    roles: [staff]
    lifecycle_state: active  # ada
    attributes: {full_name: Ada Lovelace, email: ada@example.com}
  alan.turing:
    type: human
    roles: [staff]
    lifecycle_state: active  # alan
    attributes: {full_name: Alan Turing, email: alan@example.com}
""",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    return root


# --------------------------------------------------------------------------- paging


@pytest.mark.parametrize("quirk", ["count-capped", "count-ignored"])
def test_a_target_that_caps_or_ignores_count_is_read_whole(
    quirk: str, server: ScimServer, tmp_path: Path
) -> None:
    """Pages smaller than asked are continued; a page larger than asked is taken whole:
    every account is read once, with its grants, and batches verify by id."""
    users = {server.create_user(f"p{n:02}") for n in range(12)}
    server.patch(
        "Groups",
        _group(server, "staff"),
        {"op": "add", "path": "members", "value": [{"value": u} for u in sorted(users)[:3]]},
    )
    with read_quirk_proxy(server.url, [quirk]) as url, connect(url, tmp_path, server.token) as conn:
        pages = list(conn.read())
        accounts = {a.external_id: a for p in pages for a in p.accounts}
        assert set(accounts) == users
        assert sum(len(p.accounts) for p in pages) == 12
        assert {p.total for p in pages} == {12}
        assert sorted(u for u, a in accounts.items() if a.grants == ["staff"]) == sorted(users)[:3]
        assert len(pages) == (6 if quirk == "count-capped" else 1)
        assert set(conn.get_accounts(sorted(users), ["staff"])) == users


def test_a_target_that_ignores_start_index_fails_closed_naming_it(
    server: ScimServer, tmp_path: Path
) -> None:
    """Every page being the first one would read 12 accounts as 5 repeated: the read
    fails, saying what the target did, and keeps nothing."""
    for n in range(12):
        server.create_user(f"p{n:02}")
    with (
        read_quirk_proxy(server.url, ["start-index-ignored"]) as url,
        connect(url, tmp_path, server.token, page_size=5) as conn,
    ):
        with pytest.raises(ConnectorError) as info:
            list(conn.read())
    assert "returned twice: the target ignores startIndex" in info.value.message
    assert "nothing was kept" in info.value.message
