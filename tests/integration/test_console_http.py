"""The console process over HTTP without a browser: what it refuses, the headers every
page carries, the same statuses on SQLite and PostgreSQL stores, and that the CLI does not
load the web stack to list its commands or make a token."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.console.security import COOKIE
from tests.conftest import EXAMPLES
from tests.support.console import console
from tests.support.wiki import refuse_logins

TODAY = "2026-11-29"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def repo(tmp_path: Path, store_args: list[str]) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    assert _run("sync", str(dest), *store_args).exit_code == 0
    applied = _run("apply", str(dest), "--auto-approve", "--today", TODAY, *store_args)
    assert applied.exit_code in (0, 6), applied.output
    return dest


@contextmanager
def _client(repo: Path, store_args: list[str], *args: str) -> Iterator[httpx.Client]:
    with console(repo, "--today", TODAY, *store_args, *args) as url:
        # a page is planned server-side: on a loaded machine (a mutation run, CI's shared
        # runners) that takes longer than httpx's 5 s default, which is not what is tested
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client


def test_the_list_says_what_status_says(repo: Path, store_args: list[str]) -> None:
    status = _run("status", str(repo), "--format", "json", "--today", TODAY, *store_args)
    expected = {s["identity"]: s["status"] for s in json.loads(status.stdout)}
    with _client(repo, store_args) as client:
        page = client.get("/")
    assert page.status_code == 200
    for identity, state in expected.items():
        assert f'<tr data-identity="{identity}">' in page.text
        row = page.text.split(f'<tr data-identity="{identity}">', 1)[1].split("</tr>", 1)[0]
        assert f'class="{state}" data-status>{state}<' in row
    # no page may be framed by another site (Retry is a button), nor run others' scripts
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self'


def test_read_only_refuses_even_a_valid_token(repo: Path, store_args: list[str]) -> None:
    made = _run("console", "token", "create", "--operator", "Olive", "-C", str(repo), *store_args)
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    with _client(repo, store_args, "--read-only") as client:
        signin = client.post("/signin", data={"token": token})
        assert signin.status_code == 403 and "read-only" in signin.text
        client.cookies.set(COOKIE, token)
        retry = client.post("/retry/ada.lovelace", data={"csrf": "x"})
        assert retry.status_code == 403 and "read-only" in retry.text
        assert "Sign in" not in client.get("/").text
    with _client(repo, store_args) as client:  # the same token, on a console that allows it
        signin = client.post("/signin", data={"token": token}, follow_redirects=False)
        assert signin.status_code == 303
        cookie = signin.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
    audit = _run("audit", "export", "-C", str(repo), *store_args)
    events = [json.loads(line) for line in audit.stdout.splitlines()]
    made_entry = next(e for e in events if e["event"] == "console_token_created")
    assert made_entry["details"]["operator"] == "Olive" and token not in audit.stdout
    assert any(e["event"] == "console_signin" for e in events)


def test_listing_commands_and_making_a_token_do_not_load_the_web_stack(tmp_path: Path) -> None:
    check = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from accesshive.cli import main\n"
        "CliRunner().invoke(main, ['--help'])\n"
        "CliRunner().invoke(main, ['console', 'token', '--help'])\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn')]\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_repository_never_synced_is_shown_and_left_without_a_store(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    shutil.copytree(EXAMPLES / "quickstart", fresh, ignore=shutil.ignore_patterns(".accesshive"))
    with console(fresh, "--today", TODAY) as url, httpx.Client(base_url=url) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert "No store for this environment yet" in page.text
        assert "data-status>pending<" in page.text
        # the commands a page prints act on this repository when copied elsewhere
        assert f"<code>accesshive sync -C {fresh}</code>" in page.text
        signin = client.get("/signin").text
        assert f"accesshive console token create --operator NAME -C {fresh}" in signin
        assert client.post("/signin", data={"token": "ahc_guess"}).status_code == 401
        for path in ("/runs", "/reviews", "/drift", "/audit"):
            assert client.get(path).status_code == 200, path
    assert not (fresh / ".accesshive" / "default.db").exists()


def test_an_undeclared_environment_is_refused_before_listening(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    shutil.copytree(EXAMPLES / "quickstart", fresh, ignore=shutil.ignore_patterns(".accesshive"))
    with pytest.raises(AssertionError, match="environment 'prod' is not declared"):
        with console(fresh, "--env", "prod"):
            pass


def test_other_sites_can_neither_post_nor_rebind(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    shutil.copytree(EXAMPLES / "quickstart", fresh, ignore=shutil.ignore_patterns(".accesshive"))
    with console(fresh, "--today", TODAY) as url, httpx.Client(base_url=url) as client:
        # a form another site posts (the browser names its origin): refused before sign-in
        foreign = client.post(
            "/signin", data={"token": "ahc_x"}, headers={"Origin": "http://evil.example"}
        )
        assert foreign.status_code == 403 and "its own pages" in foreign.text
        own = client.post("/signin", data={"token": "ahc_x"}, headers={"Origin": url})
        assert own.status_code == 401  # reached the sign-in: an unknown token
        # a page of another site whose name now resolves to 127.0.0.1 reads nothing
        rebound = client.get("/", headers={"Host": "evil.example"})
        assert rebound.status_code == 400 and "ada.lovelace" not in rebound.text
        assert client.get("/", headers={"Host": "localhost"}).status_code == 200


def test_operator_tokens_from_the_cli(tmp_path: Path) -> None:
    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    assert _run("sync", str(repo)).exit_code == 0
    past = _run("console", "token", "create", "--operator", "Olive", "--expires", "2020-01-01",
                "-C", str(repo))  # fmt: skip
    assert past.exit_code != 0 and "already past" in past.output
    blank = _run("console", "token", "create", "--operator", " ", "-C", str(repo))
    assert blank.exit_code != 0 and "--operator is empty" in blank.output
    made = _run("console", "token", "create", "--operator", "Olive", "--expires-in", "90d",
                "-C", str(repo))  # fmt: skip
    assert made.exit_code == 0 and made.stdout.startswith("ahc_")
    assert "shown once" in made.stderr
    # an operator token is no SCIM token: scim token list does not show it
    scim = _run("scim", "token", "list", "-C", str(repo), "--format", "json")
    assert json.loads(scim.stdout) == []
    listed = _run("console", "token", "list", "-C", str(repo))
    assert "Olive" in listed.stdout and "active" in listed.stdout
    assert made.stdout.strip() not in listed.stdout
    unknown = _run("console", "token", "revoke", "99", "-C", str(repo))
    assert unknown.exit_code != 0
    assert "no console token 99" in unknown.output
    assert f"`accesshive console token list -C {repo}`" in unknown.output  # runnable as printed


def test_a_target_message_is_shown_as_text_never_as_markup(tmp_path: Path) -> None:
    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    assert _run("sync", str(repo)).exit_code == 0
    refuse_logins(repo, "ada.lovelace", message="<img src=x onerror=alert(1)>")  # HTML
    assert _run("apply", str(repo), "--auto-approve", "--today", TODAY).exit_code == 1
    with console(repo, "--today", TODAY) as url, httpx.Client(base_url=url) as client:
        for path in ("/identities/ada.lovelace", "/runs", "/drift", "/audit"):
            page = client.get(path).text
            assert "&lt;img src=x onerror=alert(1)&gt;" in page or "\\u003cimg" in page, path
            assert "<img" not in page, path


def test_each_run_shows_what_that_run_did(tmp_path: Path) -> None:
    """Run 1 failed on ada's wiki account; run 2 (a retry after the wiki recovered)
    created it: each run's section counts its own outcomes, not where the plan stands."""
    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    assert _run("sync", str(repo)).exit_code == 0
    refuse_logins(repo, "ada.lovelace")
    assert _run("apply", str(repo), "--auto-approve", "--today", TODAY).exit_code == 1
    refuse_logins(repo)  # the wiki recovered
    retried = _run("retry", "ada.lovelace", "-C", str(repo), "--today", TODAY)
    assert retried.exit_code == 0, retried.output
    with console(repo, "--today", TODAY) as url, httpx.Client(base_url=url) as client:
        page = client.get("/runs").text
    first = page.split('id="run-1"')[1]
    second = page.split('id="run-2"')[1].split('id="run-1"')[0]
    assert "errored" in first.split("</p>")[0]  # run 1's summary line
    assert "errored" not in second.split("</p>")[0] and "verified" in second.split("</p>")[0]


def test_a_store_that_does_not_exist_is_refused_before_listening(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    shutil.copytree(EXAMPLES / "quickstart", fresh, ignore=shutil.ignore_patterns(".accesshive"))
    missing = tmp_path / "typo.db"
    with pytest.raises(AssertionError, match=f"the store {missing} does not exist"):
        with console(fresh, "--store", str(missing)):
            pass
    assert not missing.exists()


def test_a_taken_port_or_an_unknown_host_is_named(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    shutil.copytree(EXAMPLES / "quickstart", fresh, ignore=shutil.ignore_patterns(".accesshive"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("console", "-C", str(fresh), "--port", str(port))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: port {port} is already in use (another "
        "console, or another program); give another --port, or --port 0 for any free one"
    ]
    result = _run("console", "-C", str(fresh), "--host", "999.1.1.1", "--port", "0")
    assert result.exit_code == 1
    assert "cannot listen on 999.1.1.1:0: '999.1.1.1' is not a host name" in result.output
    assert "give --host an address of this machine" in result.output


def test_the_browser_asks_for_an_icon_without_an_error(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    shutil.copytree(EXAMPLES / "quickstart", fresh, ignore=shutil.ignore_patterns(".accesshive"))
    with console(fresh, "--today", TODAY) as url, httpx.Client(base_url=url) as client:
        assert client.get("/favicon.ico").status_code == 204


def test_a_mistyped_identity_suggests_the_one_meant_with_a_link(
    repo: Path, store_args: list[str]
) -> None:
    """The 404 for ``/identities/grace.hoper`` says what the CLI says for that name and
    links the identity it suggests; a name close to nothing lists none."""
    cli = _run("status", "grace.hoper", "-C", str(repo), "--today", TODAY, *store_args)
    assert cli.exit_code != 0 and "did you mean 'grace.hopper'?" in cli.output
    with _client(repo, store_args) as client:
        page = client.get("/identities/grace.hoper")
        assert page.status_code == 404
        assert (
            "no identity &#39;grace.hoper&#39;; did you mean &#39;grace.hopper&#39;?" in page.text
        )
        assert '<a href="/identities/grace.hopper">grace.hopper</a>' in page.text
        followed = client.get("/identities/grace.hopper")
        assert followed.status_code == 200 and "grace.hopper" in followed.text
        nothing = client.get("/identities/zzzzzzzz")
    assert nothing.status_code == 404 and 'id="suggested"' not in nothing.text
