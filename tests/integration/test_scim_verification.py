"""How apply verifies SCIM writes, against a real scim2-server behind the recording proxy:
a create, an update or a disable by what the target answered the write with (a PATCH
asks for the account back with ``?attributes=``), grants and revokes by reading each
Group once per batch; never by looking the accounts up again with ``id eq … or …``
filters. A member the target accepts and then drops still ends ``errored``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.operations import StoreRef
from tests.integration.test_scim_lenient_reads import (
    TOKEN_VARIABLE,
    _ada_renamed_and_alan_leaving,
    _apply,
    _group,
    _repository,
)
from tests.support.scim_server import QuirkProxy, Recorded, Rules, ScimServer, quirk_proxy
from tests.support.scim_server import scim_server as running_scim_server


@pytest.fixture
def server() -> Iterator[ScimServer]:
    with running_scim_server() as running:
        running.create_group("staff")
        yield running


def _id_lookups(proxy: QuirkProxy) -> list[Recorded]:
    return [r for r in proxy.sent("GET", "/Users") if "id eq" in r.query.get("filter", "")]


def test_writes_are_verified_by_the_answers_and_grants_by_one_group_read(
    server: ScimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VARIABLE, server.token)
    staff = _group(server, "staff")
    with quirk_proxy(server) as proxy:
        repo = _repository(tmp_path / "repo", proxy.url)
        states = _apply(repo)
        assert set(states.values()) == {"verified"}, states
        assert sorted(a for a, _ in states) == ["create_account"] * 2 + ["grant"] * 2
        users = {u["userName"]: u["id"] for u in server.http().get("Users").json()["Resources"]}
        assert server.members(staff) == sorted(users.values())
        assert _id_lookups(proxy) == []  # creates by the POST's answer
        # grants: the Group read once per batch of member PATCHes, the users not at all
        group_reads = proxy.sent("GET", f"/Groups/{staff}")
        assert len(group_reads) == len(proxy.sent("PATCH", f"/Groups/{staff}")) >= 1
        assert proxy.sent("GET", "/Users/") == []

        proxy.clear()
        _ada_renamed_and_alan_leaving(repo)
        assert server.get("Users", users["ada.lovelace"])["displayName"] == "Ada King"
        assert server.get("Users", users["alan.turing"])["active"] is False
        patches = proxy.sent("PATCH", "/Users/")
        assert len(patches) == 2 and all("attributes" in p.query for p in patches)
        assert _id_lookups(proxy) == []  # by the PATCHes' answers


def test_without_trusting_answers_every_write_is_read_back(
    server: ScimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``quirks.trust_responses: false``: the answers are not used, the accounts are read
    back (and still verified)."""
    monkeypatch.setenv(TOKEN_VARIABLE, server.token)
    with quirk_proxy(server) as proxy:
        repo = _repository(tmp_path / "repo", proxy.url)
        config = repo / "accesshive.yaml"
        config.write_text(
            config.read_text().replace(
                'token: "${env:', 'quirks: {trust_responses: false}, token: "${env:'
            )
        )
        states = _apply(repo)
        assert set(states.values()) == {"verified"}, states
        read_back = proxy.sent("GET", "/Users/") + _id_lookups(proxy)  # by id, or by filter
        assert read_back, "the creates were not read back"


def test_a_member_the_target_accepts_and_then_drops_ends_errored(
    server: ScimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PATCH adding the members succeeds; by the time the Group is read back the
    target no longer holds them. The grants are not verified."""
    monkeypatch.setenv(TOKEN_VARIABLE, server.token)
    staff = _group(server, "staff")

    def drop(request: Recorded) -> None:
        if request.method == "GET" and request.path.endswith(f"/Groups/{staff}"):
            server.patch("Groups", staff, {"op": "remove", "path": "members"})

    with quirk_proxy(server, Rules(before_forward=drop)) as proxy:
        repo = _repository(tmp_path / "repo", proxy.url)
        states = _apply(repo)
    grants = {who: state for (action, who), state in states.items() if action == "grant"}
    assert grants == {"ada.lovelace": "errored", "alan.turing": "errored"}
    creates = {state for (action, _), state in states.items() if action == "create_account"}
    assert creates == {"verified"}
    assert server.members(staff) == []


def test_after_a_few_changes_only_those_accounts_are_read_again(
    server: ScimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory of a dozen accounts, one of them updated: apply stores the snapshot it
    read before the run with that account read again, instead of reading all again."""
    monkeypatch.setenv(TOKEN_VARIABLE, server.token)
    strays = {server.create_user(f"stray{n:02}", displayName=f"Stray {n}") for n in range(10)}
    with quirk_proxy(server) as proxy:
        repo = _repository(tmp_path / "repo", proxy.url)
        assert set(_apply(repo).values()) == {"verified"}
        proxy.clear()
        people = repo / "identities.yaml"
        people.write_text(people.read_text().replace("Ada Lovelace", "Ada King"))
        assert _apply(repo) == {("update_account", "ada.lovelace"): "verified"}
        user_lists = [r for r in proxy.sent("GET", "/Users") if r.path.endswith("/Users")]
        assert len(user_lists) == 1  # the live read before the run; none after it
    with StoreRef().open(repo) as store:
        snapshot = store.latest_snapshot().source("app")
    by_name = {a.attributes["userName"]: a for a in snapshot.accounts}
    assert by_name["ada.lovelace"].attributes["displayName"] == "Ada King"
    assert by_name["ada.lovelace"].grants == ["staff"]
    assert by_name["alan.turing"].grants == ["staff"]
    assert {a.external_id for a in snapshot.accounts} >= strays
    assert len(snapshot.accounts) == 12
