"""The console's application in process (Starlette's test client, a real SQLite store):
operator sessions (the token never sits in the browser; sign-out, revocation and age end
a session), the last use of a token, the audit trail's pages, and the overview kept while
neither the repository nor the store changes."""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.console.app import Console, make_app
from accesshive.console.security import COOKIE, Sessions
from accesshive.operations import StoreRef
from accesshive.state.snapshot import SnapshotAccount

with warnings.catch_warnings():  # starlette would rather have httpx2, not installed here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

TODAY = dt.date(2026, 11, 29)


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def repo(synced_quickstart: Path) -> Path:
    return synced_quickstart


@pytest.fixture
def client(repo: Path) -> Iterator[TestClient]:
    app = make_app(Console(repo, StoreRef(), TODAY))
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as c:
        yield c


def _token(repo: Path) -> str:
    made = _run("console", "token", "create", "--operator", "Olive", "-C", str(repo))
    assert made.exit_code == 0, made.output
    return made.stdout.strip()


def _signed_in(page: str) -> bool:
    return 'id="operator">Olive<' in page


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, "no Retry form on the page"
    return found.group(1)


def test_the_session_holds_no_token_and_ends_at_sign_out(repo: Path, client: TestClient) -> None:
    token = _token(repo)
    signin = client.post("/signin", data={"token": token})
    assert signin.status_code == 303
    cookie = signin.headers["set-cookie"]
    assert token not in cookie and token[4:] not in cookie  # never the token, not even part
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered
    assert "secure" not in lowered  # plain http on the loopback: a Secure cookie is never sent
    session = client.cookies[COOKIE]
    assert _signed_in(client.get("/").text)

    # a cookie changed by hand (another token id, say) is no session
    client.cookies.set(COOKIE, session.replace(session[5], "A" if session[5] != "A" else "B", 1))
    assert not _signed_in(client.get("/").text)

    client.cookies.set(COOKIE, session)
    out = client.post("/signout")
    cleared = out.headers["set-cookie"].lower()
    assert out.status_code == 303 and f'{COOKIE}="";' in cleared and "max-age=0" in cleared
    # a copy of the cookie taken before signing out is refused too
    client.cookies.set(COOKIE, session)
    assert not _signed_in(client.get("/").text)


def test_a_revoked_token_ends_its_sessions(repo: Path, client: TestClient) -> None:
    _run("apply", str(repo), "--auto-approve", "--today", TODAY.isoformat())
    token = _token(repo)
    assert client.post("/signin", data={"token": token}).status_code == 303
    page = client.get("/identities/ada.lovelace").text
    assert _signed_in(page)
    listed = json.loads(
        _run("console", "token", "list", "-C", str(repo), "--format", "json").stdout
    )
    assert listed[0]["last_used"] is not None  # the sign-in
    assert "never" not in _run("console", "token", "list", "-C", str(repo)).stdout

    assert _run("console", "token", "revoke", str(listed[0]["id"]), "-C", str(repo)).exit_code == 0
    assert not _signed_in(client.get("/").text)
    refused = client.post("/retry/ada.lovelace", data={"csrf": "whatever", "order": "x"})
    assert refused.status_code == 403 and "needs a signed-in operator" in refused.text


def test_a_token_never_used_says_so(repo: Path) -> None:
    _token(repo)
    listed = _run("console", "token", "list", "-C", str(repo))
    assert "LAST USED" in listed.stdout
    assert listed.stdout.splitlines()[1].split()[-2:] == ["never", "active"]


def test_over_https_the_session_cookie_is_secure(repo: Path) -> None:
    token = _token(repo)
    app = make_app(Console(repo, StoreRef(), TODAY))
    with TestClient(app, base_url="https://localhost", follow_redirects=False) as client:
        signin = client.post("/signin", data={"token": token})
        assert "secure" in signin.headers["set-cookie"].lower()


def test_a_session_ends_when_it_is_too_old() -> None:
    assert Sessions(b"k" * 32).read(Sessions(b"k" * 32).issue(7)) is not None  # same secret
    assert Sessions(b"j" * 32).read(Sessions(b"k" * 32).issue(7)) is None  # another console
    old = Sessions(b"k" * 32, max_age=-1)  # every session is already past its age
    assert old.read(old.issue(7)) is None


def test_the_audit_trail_pages_newest_first(repo: Path, client: TestClient) -> None:
    with StoreRef().open(repo) as opened:
        for n in range(230):
            opened.audit("tester", "note", f"n{n}", {"n": n})
        newest = int(opened.audit_log(1)[-1]["seq"])
    seen: list[int] = []
    url = "/audit"
    pages = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200
        assert "chain intact" in page.text  # the verdict on every page
        seen.extend(int(s) for s in re.findall(r"<tr><td>(\d+)</td>", page.text))
        older = re.search(r'href="(/audit\?before=\d+)" rel="next"', page.text)
        url = older.group(1) if older else ""
        pages += 1
    assert seen == list(range(newest, 0, -1))  # each entry once, newest first
    assert pages == -(-newest // 100)
    # from the second page, "newer" leads back to the first
    second = client.get(f"/audit?before={newest - 99}").text
    back = re.search(r'href="(/audit\?before=\d+)" rel="prev"', second)
    assert back and re.findall(r"<tr><td>(\d+)</td>", client.get(back.group(1)).text)[0] == str(
        newest
    )
    bad = client.get("/audit?before=drop")
    assert bad.status_code == 400 and "audit sequence number" in bad.text


def test_the_overview_is_made_again_only_when_something_changed(
    repo: Path, client: TestClient
) -> None:
    overviews = client.app.state.overviews  # type: ignore[attr-defined]
    for path in ("/", "/identities/ada.lovelace", "/reviews", "/drift"):
        assert client.get(path).status_code == 200
    assert overviews.computed == 1
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("Staff Engineer", "Principal Engineer"))
    assert client.get("/identities/ada.lovelace").status_code == 200
    assert overviews.computed == 2  # made again from the changed file
    assert _run("apply", str(repo), "--auto-approve", "--today", TODAY.isoformat()).exit_code in (
        0,
        6,
    )
    page = client.get("/identities/ada.lovelace").text
    assert overviews.computed == 3  # the store recorded a run
    assert 'id="status">Provisioned<' in page


def test_every_account_the_snapshot_attributes_to_an_identity_is_shown(
    repo: Path, client: TestClient
) -> None:
    """Ada's badge is found by her email (the badge system keeps no link), and an account
    still linked to her on the wiki, of a kind she no longer has, is shown too."""
    with StoreRef().open(repo) as opened:
        wiki = opened.latest_snapshot().source("wiki")
        stray = SnapshotAccount("99", "ada.lovelace#admin", True, {"login": "ada.admin"})
        opened.save_snapshot("wiki", wiki.model_copy(update={"accounts": [*wiki.accounts, stray]}))
    page = client.get("/identities/ada.lovelace").text
    rows = {
        row.split("</td>", 1)[0]: row
        for row in re.findall(r'<tr data-source="[^"]+"><td>(.*?)</tr>', page, re.DOTALL)
    }
    assert "<code>B-100</code> enabled" in rows["badges"]
    assert "correlation on email" in rows["badges"]
    admin = rows["wiki (admin)"]
    assert "not assigned" in admin and "<code>99</code>" in admin and "its link" in admin
