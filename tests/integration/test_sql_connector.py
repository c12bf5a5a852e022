"""The sql connector against a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.sql import SqlConnector
from accesshive.errors import ConnectorError
from tests.support.targets.sql_sqlite import sql_source as _source


@pytest.fixture(params=["sqlite", "postgresql"])
def connector(request: pytest.FixtureRequest, tmp_path: Path) -> SqlConnector:
    if request.param == "sqlite":
        url = "sqlite:///app.db"
    else:
        url = request.getfixturevalue("postgres_db")
    conn = SqlConnector("app", _source(url), ConnectorContext(root=tmp_path))
    yield conn
    conn.close()


def _all(connector: SqlConnector) -> list[Any]:
    return [a for page in connector.read() for a in page.accounts]


def test_create_is_idempotent_and_adopts(connector: SqlConnector) -> None:
    first = connector.create_account("ada", {"login": "ada", "email": "ada@x.io"}, True)
    assert not first.adopted
    again = connector.create_account("ada", {"login": "ada", "email": "ADA@x.io"}, True)
    assert again.adopted and again.external_id == first.external_id
    accounts = _all(connector)
    assert [(a.identity, a.attributes["login"], a.enabled) for a in accounts] == [
        ("ada", "ada", True)
    ]


def test_update_enable_grant_revoke_delete(connector: SqlConnector) -> None:
    ext = connector.create_account("ada", {"login": "ada", "email": "ada@x.io"}, False).external_id
    connector.update_account(ext, {"email": "lovelace@x.io"})
    connector.set_enabled(ext, True)
    connector.grant(ext, "readers")
    connector.grant(ext, "readers")  # already a member: done
    connector.grant(ext, "editors")
    connector.revoke(ext, "editors")
    connector.revoke(ext, "editors")  # not a member: done
    account = connector.get_account(ext)
    assert account is not None
    assert (account.enabled, account.attributes["email"], account.grants) == (
        True,
        "lovelace@x.io",
        ["readers"],
    )
    connector.delete_account(ext)
    connector.delete_account(ext)  # already gone: done
    assert connector.get_account(ext) is None
    assert _all(connector) == []


def test_read_returns_everything_across_pages(connector: SqlConnector) -> None:
    for n in range(2345):
        ext = connector.create_account(f"p{n}", {"login": f"u{n:05}", "email": f"u{n}@x.io"}, True)
        if n % 100 == 0:
            connector.grant(ext.external_id, "readers")
    pages = list(connector.read())
    assert len(pages) == 3
    accounts = [a for p in pages for a in p.accounts]
    assert len({a.external_id for a in accounts}) == 2345
    assert sum(len(a.grants) for a in accounts) == 24
    assert {p.total for p in pages} == {2345}


def test_unsafe_identifiers_are_refused(tmp_path: Path) -> None:
    source = _source("sqlite:///x.db", accounts_table="users; DROP TABLE users")
    with pytest.raises(ConnectorError, match="is not a plain table or column name"):
        SqlConnector("app", source, ConnectorContext(root=tmp_path))


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    source = _source("sqlite:///missing.db", create_tables=False)
    with pytest.raises(ConnectorError, match=r"missing\.db does not exist") as info:
        list(SqlConnector("app", source, ConnectorContext(root=tmp_path)).read())
    assert info.value.source == "app"


def test_unreachable_postgres_is_retryable(tmp_path: Path) -> None:
    source = _source("postgresql://nobody@127.0.0.1:1/none", create_tables=False)
    with pytest.raises(ConnectorError) as info:
        list(SqlConnector("app", source, ConnectorContext(root=tmp_path)).read())
    assert info.value.retryable
    assert "cannot connect" in info.value.message


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_url_may_be_a_secret_reference(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`url: "${env:WIKI_URL}"` (the password of a PostgreSQL URL is a secret): resolved
    when connecting, to the same database a literal URL reaches."""
    url = "sqlite:///app.db" if backend == "sqlite" else request.getfixturevalue("postgres_db")
    literal = SqlConnector("app", _source(url), ConnectorContext(root=tmp_path))
    literal.create_account("ada", {"login": "ada", "email": "ada@x.io"}, True)
    literal.close()
    context = ConnectorContext(root=tmp_path, environ={"WIKI_URL": url})
    referenced = SqlConnector("app", _source("${env:WIKI_URL}"), context)
    try:
        assert [a.identity for a in _all(referenced)] == ["ada"]
    finally:
        referenced.close()
    assert not [p for p in tmp_path.iterdir() if "$" in p.name]  # no database named after it


@pytest.mark.parametrize(
    ("url", "environ", "message"),
    [
        ("${env:WIKI_URL}", {}, "environment variable WIKI_URL is not set"),
        ("${env:WIKI_URL}", {"WIKI_URL": "wiki.db"}, "must be sqlite:///PATH or postgresql://"),
        ("mysql://root:hunter2@db/wiki", {}, "must be sqlite:///PATH or postgresql://"),
    ],
)
def test_a_url_that_names_no_database_is_refused_and_nothing_is_created(
    tmp_path: Path, url: str, environ: dict[str, str], message: str
) -> None:
    connector = SqlConnector("app", _source(url), ConnectorContext(root=tmp_path, environ=environ))
    with pytest.raises(ConnectorError, match=message) as info:
        list(connector.read())
    assert "hunter2" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("what", ["a directory", "not a database"])
def test_a_database_path_that_cannot_be_opened_is_a_clear_error(what: str, tmp_path: Path) -> None:
    """A path that holds a directory or a file that is no SQLite database: the source's
    error, naming the file, never a raw sqlite3 exception (sync and report showed a
    traceback)."""
    path = tmp_path / "app.db"
    if what == "a directory":
        path.mkdir()
    else:
        path.write_bytes(b"this is not an SQLite database, it only has its name" * 40)
    source = _source("sqlite:///app.db", create_tables=False)
    with pytest.raises(ConnectorError) as info:
        list(SqlConnector("app", source, ConnectorContext(root=tmp_path)).read())
    assert info.value.source == "app"
    assert str(path) in info.value.message


def test_sync_with_one_sqlite_target_unopenable_reports_it_and_stores_the_rest(
    tmp_path: Path,
) -> None:
    """As a user hit it: the quickstart's wiki database replaced by a directory. sync says
    which source failed and why (exit 5) and still stores the others' snapshots."""
    from click.testing import CliRunner

    from accesshive.cli import main
    from tests.conftest import EXAMPLES

    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    runner = CliRunner()
    assert runner.invoke(main, ["sync", str(repo)]).exit_code == 0
    wiki = repo / ".accesshive" / "wiki-app.db"
    wiki.unlink()
    wiki.mkdir()
    result = runner.invoke(main, ["sync", str(repo), "--format", "json"])
    assert result.exit_code == 5, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    out = json.loads(result.output)
    by_source = {r["source"]: r for r in out}
    assert by_source["wiki"]["ok"] is False
    assert "cannot open the database" in by_source["wiki"]["error"]
    assert all(r["ok"] for sid, r in by_source.items() if sid != "wiki")
    report = runner.invoke(main, ["report", str(repo)])
    assert "Traceback" not in report.output
    assert not isinstance(report.exception, Exception) or isinstance(
        report.exception, SystemExit
    ), report.exception


@pytest.fixture
def locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An SQLite target another process holds an exclusive lock on (as an sqlite3 shell
    in ``BEGIN EXCLUSIVE`` does); the busy timeout shortened so the test waits little."""
    import sqlite3

    from accesshive.connectors.sql import _failures

    monkeypatch.setattr(_failures, "BUSY_TIMEOUT", 0.2)
    made = SqlConnector("app", _source("sqlite:///app.db"), ConnectorContext(root=tmp_path))
    made.create_account("ada", {"login": "ada"}, True)
    made.close()
    holder = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield tmp_path / "app.db"
    holder.rollback()
    holder.close()


def test_a_locked_database_is_reported_as_a_lock_not_as_permissions(
    locked: Path, tmp_path: Path
) -> None:
    """Opening a file another process holds locked: the error names the file, says it is
    a lock and how long it waited, and is retryable (a lock passes)."""
    connector = SqlConnector("app", _source("sqlite:///app.db"), ConnectorContext(root=tmp_path))
    with pytest.raises(ConnectorError) as info:
        list(connector.read())
    message = info.value.message
    assert f"another process holds a lock on the database {locked}" in message
    assert re.search(r"\(waited [0-9.]+ s for it\)", message), message
    assert "then run the command again" in message
    assert "read and write" not in message
    assert info.value.retryable


def test_a_lock_taken_while_connected_is_reported_the_same_way(tmp_path: Path) -> None:
    import sqlite3

    connector = SqlConnector("app", _source("sqlite:///app.db"), ConnectorContext(root=tmp_path))
    created = connector.create_account("ada", {"login": "ada"}, True)
    connector._db.execute("PRAGMA busy_timeout = 100")  # the test waits little
    holder = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ConnectorError, match="another process holds a lock on the database"):
            connector.grant(created.external_id, "staff")
    finally:
        holder.rollback()
        holder.close()
    connector.grant(created.external_id, "staff")  # once released, it goes through
    assert connector.get_account(created.external_id).grants == ["staff"]  # type: ignore[union-attr]
    connector.close()


def test_apply_on_a_locked_quickstart_wiki_says_so_and_prints_the_command_to_rerun(
    synced_quickstart: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a user hit it: the wiki's database held locked during apply. The summary says
    it is a lock on that file (not a permissions problem) and prints the apply to run
    again, which, once the lock is gone, applies the plan."""
    import shlex
    import sqlite3

    from click.testing import CliRunner

    from accesshive.cli import main
    from accesshive.connectors.sql import _failures

    monkeypatch.setattr(_failures, "BUSY_TIMEOUT", 0.2)
    repo = synced_quickstart
    plan = tmp_path / "plan.json"
    planned = CliRunner().invoke(main, ["plan", "-C", str(repo), "--out", str(plan)])
    assert planned.exit_code in (0, 2), planned.output
    wiki = repo / ".accesshive" / "wiki-app.db"
    holder = sqlite3.connect(wiki, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        failed = CliRunner().invoke(main, ["apply", str(plan), "-C", str(repo)])
    finally:
        holder.rollback()
        holder.close()
    assert failed.exit_code == 1, failed.output
    assert f"another process holds a lock on the database {wiki}" in failed.output
    assert "read and write" not in failed.output
    lines = failed.output.splitlines()
    at = next(n for n, li in enumerate(lines) if li.startswith("Unreachable: wiki."))
    command = lines[at + 1].strip()
    assert command.startswith("`accesshive apply ") and command.endswith("`"), command
    words = shlex.split(command.strip("`"))
    assert words[:3] == ["accesshive", "apply", str(plan)] and "-C" in words
    again = CliRunner().invoke(main, words[1:])
    assert again.exit_code in (0, 6), again.output  # 6: gated orders wait for approval
    assert "Unreachable" not in again.output
