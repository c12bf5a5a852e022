"""Bearer tokens of ``scim serve``: list, revoke, expiry; shown once, stored as a hash; an
expired or revoked token gets 401 with a SCIM error body from the running server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from accesshive.idp.tokens import token_hash
from accesshive.store import Store, open_store
from accesshive.store.migrations import MIGRATIONS
from tests.support.scim_serve import cli, make_repo, scim_serve, token, user

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "quickstart")


@pytest.fixture(params=["sqlite", "postgresql"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    url = (
        str(tmp_path / "state.db")
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_db")
    )
    return lambda: open_store(tmp_path, "default", url)


def _list(repo: Path) -> list[dict[str, object]]:
    code, out, err = cli("scim", "token", "list", "-C", str(repo), "--format", "json")
    assert code == 0, err
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def test_list_shows_ids_and_dates_never_a_token(repo: Path) -> None:
    first = token(repo)
    second = token(repo, "--keep-existing", "--expires-in", "90d")
    third = token(repo, "--expires", "2099-01-31")
    rows = _list(repo)
    assert [(r["id"], r["source"], r["state"]) for r in rows] == [
        (1, "okta", "revoked"),  # the third was made without --keep-existing
        (2, "okta", "revoked"),
        (3, "okta", "active"),
    ]
    assert rows[2]["expires"] == "2099-01-31T00:00:00+00:00"
    assert rows[1]["expires"] and rows[0]["expires"] is None
    assert set(rows[0]) == {"id", "source", "created", "expires", "last_used", "revoked", "state"}
    code, text, _ = cli("scim", "token", "list", "-C", str(repo))
    assert code == 0 and text.splitlines()[0].split() == [
        "ID", "SOURCE", "CREATED", "EXPIRES", "LAST", "USED", "STATE",
    ]  # fmt: skip
    with open_store(repo) as store:
        hashes = [str(r[0]) for r in store._execute("SELECT hash FROM idp_tokens")]
        log = json.dumps([(e.event, e.details) for e in store.audit_entries()])
    for secret in (first, second, third):
        assert secret not in text and secret not in json.dumps(rows) and secret not in log
        assert token_hash(secret) in hashes and token_hash(secret) not in text + log


def test_expiry_options_are_checked(repo: Path) -> None:
    for args, message in (
        (["--expires-in", "soon"], "not a duration"),
        (["--expires-in", "0d"], "not a duration"),
        (["--expires", "2001-01-01"], "already past"),
        (["--expires-in", "1d", "--expires", "2099-01-01"], "not both"),
    ):
        code, _, err = cli("scim", "token", "create", "--source", "okta", "-C", str(repo), *args)
        assert code != 0 and message in err, (args, err)
    assert _list(repo) == []


def test_revoke_an_unknown_id_says_so(repo: Path) -> None:
    token(repo)
    code, _, err = cli("scim", "token", "revoke", "7", "-C", str(repo))
    assert code != 0 and "no scim token 7" in err


def test_expired_and_revoked_tokens_get_401_from_the_running_server(repo: Path) -> None:
    active = token(repo)
    rotated = token(repo, "--keep-existing")
    expired = "ahs_expired-for-the-test"
    with open_store(repo) as store:  # a token whose expiry has passed
        store.new_token("okta", token_hash(expired), "2020-01-01T00:00:00+00:00", keep=True)
    with scim_serve(repo) as served:

        def push(bearer: str, name: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {bearer}"}
            with httpx.Client(base_url=served.url, headers=headers) as scim:
                return scim.post("/Users", json=user(name))

        assert push(active, "kay.jones").status_code == 201
        assert push(rotated, "lou.reed").status_code == 201
        refused = push(expired, "mo.farah")
        assert refused.status_code == 401
        assert refused.json()["schemas"] == [ERROR] and "expired" in refused.json()["detail"]
        code, out, _ = cli("scim", "token", "revoke", "1", "-C", str(repo))
        assert code == 0 and "revoked token 1 of identity source 'okta'" in out
        refused = push(active, "mo.farah")
        assert refused.status_code == 401
        assert refused.json()["schemas"] == [ERROR] and "revoked" in refused.json()["detail"]
        unknown = push("ahs_never-made", "mo.farah")
        assert unknown.status_code == 401 and unknown.json()["schemas"] == [ERROR]
        # RFC 6750 §3: a refused token is told apart from a missing one by the challenge
        challenge = 'Bearer realm="accesshive scim", error="invalid_token"'
        assert unknown.headers["WWW-Authenticate"] == challenge
        with httpx.Client(base_url=served.url) as scim:
            missing = scim.get("/Users")
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"] == 'Bearer realm="accesshive scim"'
        assert refused.headers["WWW-Authenticate"] == challenge
        assert push(rotated, "mo.farah").status_code == 201
        assert served.terminate() == 0
    assert not any(secret in "".join(served.stderr) for secret in (active, rotated, expired))
    rows = {r["id"]: r for r in _list(repo)}
    assert rows[1]["last_used"] and rows[2]["last_used"] and rows[3]["last_used"] is None
    assert [rows[i]["state"] for i in (1, 2, 3)] == ["revoked", "active", "expired"]
    with open_store(repo) as store:
        names = sorted(json.loads(body)["userName"] for _, _, body in store.records("okta"))
    assert names == [f"{n}@quickstart.example" for n in ("kay.jones", "lou.reed", "mo.farah")]


def test_tokens_of_an_older_store_get_ids_and_keep_their_state(
    make_store: Callable[[], Store],
) -> None:
    with make_store() as store:
        for (table,) in store._execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if store.dialect == "sqlite"
            else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ):
            if not str(table).startswith("sqlite_"):
                store._execute(f"DROP TABLE {table}")
        store._execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, statements in MIGRATIONS:
            if version > 8:
                break
            with store.transaction():
                for statement in statements:
                    store._execute(statement.replace("{serial}", store._serial()))
                store._execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        store._execute(
            "INSERT INTO idp_tokens (environment, source, hash, created_at, revoked_at) VALUES "
            "('default', 'okta', 'h1', '2026-01-01T00:00:00+00:00', '2026-02-01T00:00:00+00:00'),"
            " ('default', 'okta', 'h2', '2026-02-01T00:00:00+00:00', NULL)"
        )
    with make_store() as upgraded:
        tokens = upgraded.tokens()
        assert [(t.id, t.state(), t.expires_at, t.last_used_at) for t in tokens] == [
            (1, "revoked", None, None),
            (2, "active", None, None),
        ]
        assert upgraded.token_valid("okta", "h2") and not upgraded.token_valid("okta", "h1")
        new_id, revoked = upgraded.new_token("okta", "h3")
        assert (new_id, revoked) == (3, 1)
