"""`accesshive scim serve`: identity providers push users and groups; plan picks them up."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.idp.server import make_app
from accesshive.operations import StoreRef, load_and_expand, plan_repository
from accesshive.store import open_store
from tests.conftest import EXAMPLES

TODAY = dt.date(2026, 11, 29)
SOURCE = """
identity_sources:
  okta:
    kind: scim
    id: "{{ name.givenName|slug }}.{{ name.familyName|slug }}"
    attributes:
      given_name: "{{ name.givenName }}"
      family_name: "{{ name.familyName }}"
      email: "{{ userName }}"
      department: "{{ title }}"
      employee_number: "{{ externalId }}"
    roles: {Admins: ops-admin}
    leaver_state: terminated
"""
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        return


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    (dest / "accesshive.yaml").write_text((dest / "accesshive.yaml").read_text() + SOURCE)
    return dest


def _token(repo: Path) -> str:
    result = CliRunner().invoke(
        main, ["scim", "token", "create", "--source", "okta", "-C", str(repo)]
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    """Serve a SCIM application on a free port; yield its /v2 URL."""
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v2"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served(repo: Path) -> Iterator[tuple[str, Path]]:
    _token(repo)  # the store exists before the server opens it
    with open_store(repo) as store, _serving(make_app(store, "okta")) as url:
        yield url, repo


def _client(url: str, token: str) -> httpx.Client:
    headers = {"Content-Type": "application/scim+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=url, headers=headers)


def test_joiner_with_group_becomes_an_identity_in_the_plan(served: tuple[str, Path]) -> None:
    url, repo = served
    token = _token(repo)
    with _client(url, token) as scim:
        user = scim.post(
            "/Users",
            json={
                "schemas": [USER],
                "userName": "kay.jones@quickstart.example",
                "name": {"givenName": "Kay", "familyName": "Jones"},
                "externalId": "2001",
                "title": "Engineering",
                "active": True,
            },
        )
        assert user.status_code == 201, user.text
        uid = user.json()["id"]
        group = scim.post(
            "/Groups",
            json={"schemas": [GROUP], "displayName": "Admins", "members": [{"value": uid}]},
        )
        assert group.status_code == 201, group.text
        listed = scim.get("/Users", params={"filter": 'userName eq "kay.jones@quickstart.example"'})
        assert listed.json()["totalResults"] == 1
    plan = plan_repository(repo, TODAY, store=StoreRef())
    assert plan.identities["kay.jones"]["from"] == "scim:okta"
    grants = {o.change.entitlement for o in plan.orders if o.change.identity == "kay.jones"}
    assert {"readers", "editors", "wiki-admins"} <= grants  # department rule + Admins → ops-admin
    ada = plan.identities.get("ada.lovelace")
    assert ada is None or ada["from"] == "yaml"


def test_entra_deactivation_makes_a_leaver(served: tuple[str, Path]) -> None:
    url, repo = served
    token = _token(repo)
    with _client(url, token) as scim:
        uid = scim.post(
            "/Users",
            json={
                "schemas": [USER],
                "userName": "lou.reed@quickstart.example",
                "name": {"givenName": "Lou", "familyName": "Reed"},
                "externalId": "2002",
                "title": "Sales",
            },
        ).json()["id"]
        # Entra sends capitalised ops and booleans as strings
        patched = scim.patch(
            f"/Users/{uid}",
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            },
        )
        assert patched.status_code in (200, 204), patched.text
        assert scim.get(f"/Users/{uid}").json()["active"] is False
    _, desired = load_and_expand(repo, TODAY)
    assert desired.identities["lou.reed"].lifecycle_state == "terminated"


def test_tokens_are_checked_and_rotation_invalidates(served: tuple[str, Path]) -> None:
    url, repo = served
    old = _token(repo)
    new = _token(repo)
    body = {
        "schemas": [USER],
        "userName": "x@quickstart.example",
        "name": {"givenName": "X", "familyName": "Y"},
    }
    for bad in ("", "wrong", old):
        with _client(url, bad) as scim:
            assert scim.post("/Users", json=body).status_code == 401
    with open_store(repo) as store:
        assert store.records("okta") == []  # nothing happened
        assert "ahs_" not in str(store.audit_log())  # no token in the audit log
    with _client(url, new) as scim:
        assert scim.post("/Users", json=body).status_code == 201


def test_records_survive_a_restart(served: tuple[str, Path]) -> None:
    url, repo = served
    token = _token(repo)
    with _client(url, token) as scim:
        uid = scim.post(
            "/Users",
            json={
                "schemas": [USER],
                "userName": "mo@quickstart.example",
                "name": {"givenName": "Mo", "familyName": "Farah"},
                "externalId": "2003",
            },
        ).json()["id"]
    with open_store(repo) as store, _serving(make_app(store, "okta")) as restarted:
        with _client(restarted, token) as scim:
            again = scim.get(f"/Users/{uid}")
            assert again.status_code == 200
            assert again.json()["userName"] == "mo@quickstart.example"


def test_malformed_push_is_refused_and_stores_nothing(served: tuple[str, Path]) -> None:
    url, repo = served
    token = _token(repo)
    with _client(url, token) as scim:
        bad = scim.post("/Users", content=b"{not json")
        assert bad.status_code == 400
        assert "urn:ietf:params:scim:api:messages:2.0:Error" in bad.text
        wrong = scim.post("/Users", json={"schemas": [USER], "userName": 42, "active": "maybe"})
        assert wrong.status_code == 400
    with open_store(repo) as store:
        assert store.records("okta") == []


def test_scim2_tester_conformance(served: tuple[str, Path]) -> None:
    """scim2-tester's RFC 7643/7644 checks all pass against the service provider."""
    from scim2_models import ScimProvider
    from scim2_tester import Status, check_server

    from accesshive.connectors.scim._transport import ScimHttp, WriteLimiter

    url, repo = served
    token = _token(repo)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        results = check_server(ScimHttp(http, ScimProvider(), WriteLimiter(None)))
    failed = [(r.title, r.reason) for r in results if r.status != Status.SUCCESS]
    assert len(results) > 100
    assert failed == []


def test_deactivation_runs_the_leaver_orders_at_once(repo: Path) -> None:
    import sqlite3

    from accesshive.operations import apply_plan, run_leaver

    (repo / "policies").mkdir()
    (repo / "policies" / "leavers.yaml").write_text(
        "leavers:\n  immediate: [revoke, disable_account]\n"
    )
    (repo / "policies" / "review.yaml").write_text("review:\n  rules: []\n")
    token = _token(repo)
    assert CliRunner().invoke(main, ["sync", str(repo)]).exit_code == 0
    with open_store(repo) as store:
        app = make_app(store, "okta", lambda user: run_leaver(repo, "okta", user, StoreRef()))
        with _serving(app) as url:
            with _client(url, token) as scim:
                uid = scim.post(
                    "/Users",
                    json={
                        "schemas": [USER],
                        "userName": "kay.jones@quickstart.example",
                        "externalId": "2001",
                        "name": {"givenName": "Kay", "familyName": "Jones"},
                        "title": "Engineering",
                    },
                ).json()["id"]
                scim.post(
                    "/Groups",
                    json={"schemas": [GROUP], "displayName": "Admins", "members": [{"value": uid}]},
                )
                plan = plan_repository(repo, TODAY, store=StoreRef())
                apply_plan(repo, plan, StoreRef(), TODAY, "ci")
                wiki = sqlite3.connect(repo / ".accesshive" / "wiki-app.db")
                (kay,) = wiki.execute("SELECT id FROM users WHERE login = 'kay.jones'").fetchone()
                assert wiki.execute(
                    "SELECT COUNT(*) FROM user_groups WHERE user_id = ?", (kay,)
                ).fetchone() == (3,)
                # the provider deactivates Kay: revokes and the disable run now, not at the next PR
                patched = scim.patch(
                    f"/Users/{uid}",
                    json={
                        "schemas": [PATCH],
                        "Operations": [{"op": "replace", "path": "active", "value": False}],
                    },
                )
                assert patched.status_code in (200, 204)
    wiki = sqlite3.connect(repo / ".accesshive" / "wiki-app.db")
    assert wiki.execute("SELECT active FROM users WHERE id = ?", (kay,)).fetchone() == (0,)
    assert wiki.execute(
        "SELECT COUNT(*) FROM user_groups WHERE user_id = ?", (kay,)
    ).fetchone() == (0,)
    with open_store(repo) as store:
        events = [e["event"] for e in store.audit_log(500)]
    assert "leaver_immediate" in events


def _replay(url: str, token: str, steps: list[tuple[str, str, dict]]) -> None:
    ids: dict[str, str] = {}
    with _client(url, token) as scim:
        for method, path, body in steps:
            path = path.format(**ids)
            response = scim.request(method, path, json=body)
            assert response.status_code in (200, 201, 204), (path, response.text)
            if method == "POST" and path == "/Users":
                ids["user"] = response.json()["id"]


def _identity(repo: Path, name: str) -> tuple:
    _, desired = load_and_expand(repo, TODAY)
    ident = desired.identities[name]
    config_ident = _.identities[name]
    return (ident.lifecycle_state, dict(config_ident.attributes), sorted(config_ident.roles))


def test_entra_and_okta_sequences_give_the_plain_rfc_records(served: tuple[str, Path]) -> None:
    url, repo = served
    token = _token(repo)

    def user(given: str, active: object) -> dict:
        return {
            "schemas": [USER],
            "userName": f"{given.lower()}.nguyen@quickstart.example",
            "externalId": "3001",
            "name": {"givenName": given, "familyName": "Nguyen"},
            "title": "Sales",
            "active": active,
        }

    # plain RFC 7644: create, then a PATCH with lower-case ops and real booleans
    _replay(
        url,
        token,
        [
            ("POST", "/Users", user("Rfc", True)),
            (
                "PATCH",
                "/Users/{user}",
                {
                    "schemas": [PATCH],
                    "Operations": [
                        {"op": "replace", "path": "title", "value": "Engineering"},
                        {"op": "replace", "path": "active", "value": False},
                    ],
                },
            ),
        ],
    )
    # Microsoft Entra: string booleans, capitalised ops, a path-less value object
    _replay(
        url,
        token,
        [
            ("POST", "/Users", user("Entra", "True")),
            (
                "PATCH",
                "/Users/{user}",
                {
                    "schemas": [PATCH],
                    "Operations": [
                        {"op": "Replace", "value": {"title": "Engineering"}},
                        {"op": "Replace", "path": "active", "value": "False"},
                    ],
                },
            ),
        ],
    )
    # Okta: updates by replacing the whole user (PUT)
    okta = user("Okta", True)
    _replay(
        url,
        token,
        [
            ("POST", "/Users", okta),
            ("PUT", "/Users/{user}", {**okta, "title": "Engineering", "active": False}),
        ],
    )
    rfc, entra, okta_ = (_identity(repo, f"{n}.nguyen") for n in ("rfc", "entra", "okta"))

    def strip(t: tuple) -> tuple:  # the names differ on purpose; the rest must not
        return (t[0], {k: v for k, v in t[1].items() if k not in ("given_name", "email")}, t[2])

    assert strip(rfc) == strip(entra) == strip(okta_)
    assert rfc[0] == "terminated" and rfc[1]["department"] == "Engineering"


def test_import_scim_pulls_a_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.scim_server import scim_server

    with scim_server() as directory:
        uid = directory.create_user(
            "ada.king@quickstart.example",
            name={"givenName": "Ada", "familyName": "King"},
            title="Engineering",
            externalId="4001",
        )
        directory.create_group("Admins", [uid])
        monkeypatch.setenv("ACCESSHIVE_IMPORT_TOKEN", directory.token)
        result = CliRunner().invoke(
            main,
            [
                "import",
                "scim",
                directory.url,
                "--source",
                "okta",
                "-C",
                str(repo),
                "--write-yaml",
                "--format",
                "json",
                "--today",
                "2026-11-29",
            ],
        )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == ["ada.king"]
    text = (repo / "identities" / "okta.yaml").read_text()
    assert "ops-admin" in text and "department: Engineering" in text
    assert CliRunner().invoke(main, ["validate", str(repo)]).exit_code == 0


def test_concurrent_pushes_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    """The load benchmark, smaller: 50 clients at once, every user stored exactly once."""
    from tests.bench.scim_provider_bench import run

    result = run(clients=50, users=500, root=tmp_path / "repo")
    assert result["failed_requests"] == 0
    assert (result["stored"], result["distinct"]) == (500, 500)


def test_concurrent_pushes_to_two_replicas_on_postgresql(tmp_path: Path, postgres_db: str) -> None:
    """The same, through two `scim serve` processes sharing one PostgreSQL store."""
    from tests.bench.scim_provider_bench import run

    result = run(clients=50, users=300, root=tmp_path / "repo", replicas=2, store=postgres_db)
    assert result["failed_requests"] == 0
    assert (result["stored"], result["distinct"]) == (300, 300)


def test_oversized_and_unknown_are_refused(served: tuple[str, Path]) -> None:
    url, repo = served
    token = _token(repo)
    with _client(url, token) as scim:
        huge = {"schemas": [USER], "userName": "big", "displayName": "x" * (3 * 1024 * 1024)}
        too_big = scim.post("/Users", json=huge)
        assert too_big.status_code == 413
        unknown = scim.post(
            "/Users", json={"schemas": ["urn:example:not-a-schema"], "userName": "u"}
        )
        assert unknown.status_code == 400
        assert "scimType" in unknown.text
    with open_store(repo) as store:
        assert store.records("okta") == []


def test_mover_changes_role_in_the_next_plan(served: tuple[str, Path]) -> None:
    """A department change pushed by the provider moves the identity's access."""
    from accesshive.operations import apply_plan

    url, repo = served
    token = _token(repo)
    assert CliRunner().invoke(main, ["sync", str(repo)]).exit_code == 0
    with _client(url, token) as scim:
        uid = scim.post(
            "/Users",
            json={
                "schemas": [USER],
                "userName": "kim.park@quickstart.example",
                "externalId": "5001",
                "name": {"givenName": "Kim", "familyName": "Park"},
                "title": "Engineering",
            },
        ).json()["id"]
        plan = plan_repository(repo, TODAY, store=StoreRef())
        apply_plan(repo, plan, StoreRef(), TODAY, "ci")
        moved = scim.patch(
            f"/Users/{uid}",
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "title", "value": "Sales"}],
            },
        )
        assert moved.status_code in (200, 204)
    after = plan_repository(repo, TODAY, store=StoreRef())
    wiki = [
        (o.action, o.change.entitlement)
        for o in after.orders
        if o.change.identity == "kim.park" and o.change.source == "wiki"
    ]
    assert wiki == [("revoke", "editors")]


def test_unknown_attributes_and_batched_members(served: tuple[str, Path]) -> None:
    url, repo = served
    token = _token(repo)
    with _client(url, token) as scim:
        odd = scim.post(
            "/Users", json={"schemas": [USER], "userName": "a", "favouriteColour": "blue"}
        )
        assert odd.status_code == 400 and "scimType" in odd.text and "favouriteColour" in odd.text
        ids = [
            scim.post("/Users", json={"schemas": [USER], "userName": f"m{n}"}).json()["id"]
            for n in range(3)
        ]
        gid = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Batch"}).json()["id"]
        added = scim.patch(
            f"/Groups/{gid}",
            json={
                "schemas": [PATCH],
                "Operations": [
                    {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}
                ],
            },
        )
        assert added.status_code in (200, 204)
        assert len(scim.get(f"/Groups/{gid}").json()["members"]) == 3
