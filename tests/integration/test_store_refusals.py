"""A store named by --store that does not exist: the commands that only read refuse it
(instead of creating an empty one and reporting "everyone pending" from it), every
command refuses a URL of a kind accesshive has no backend for, and a store that cannot
be reached is one clean line with its password masked."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main

READ_ONLY = [
    ["status"],
    ["report", "--no-sync"],
    ["state", "show", "-C"],
    ["state", "unlock", "--force", "-C"],
    ["tasks", "list", "-C"],
    ["audit", "verify", "-C"],
    ["audit", "export", "-C"],
]


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _error_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_refuse_a_missing_store(
    repo: Path, tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo" / "state.db"
    result = _run(*command, str(repo), "--store", str(missing))
    assert result.exit_code == 1, result.output
    line = _error_line(result)
    assert f"the store {missing} does not exist" in line
    assert "`accesshive sync" in line
    assert not missing.parent.exists()
    assert not (repo / ".accesshive").exists()


def test_sync_creates_the_named_store_then_status_reads_it(repo: Path, tmp_path: Path) -> None:
    store = tmp_path / "state.db"
    assert _run("status", str(repo), "--store", str(store)).exit_code == 1
    assert _run("sync", str(repo), "--store", str(store)).exit_code == 0
    assert store.is_file()
    result = _run("status", str(repo), "--store", str(store), "--format", "json")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", [["status"], ["sync"], ["plan"]])
def test_unknown_url_schemes_are_refused_by_every_command(repo: Path, command: list[str]) -> None:
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    result = _run(*command, str(repo), "--store", "mysql://admin:hunter2@db/access")
    assert result.exit_code == 1, result.output
    line = _error_line(result)
    assert "'mysql://' is not a kind of store" in line
    assert "hunter2" not in line
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before


def test_a_sqlite_url_with_two_slashes_says_how_to_write_it(repo: Path) -> None:
    result = _run("sync", str(repo), "--store", "sqlite://state.db")
    assert result.exit_code == 1
    assert "sqlite:///relative.db" in _error_line(result)
    assert not (repo / "sqlite:").exists()


def test_an_unreachable_postgresql_store_is_one_line_with_its_password_masked(
    repo: Path,
) -> None:
    result = _run("status", str(repo), "--store", "postgresql://postgres:s3cret@127.0.0.1:1/x")
    assert result.exit_code == 1
    line = _error_line(result)
    assert "cannot connect to the store postgresql://postgres:***@127.0.0.1:1/x" in line
    assert "s3cret" not in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:1/x?password=s3cret",
        "postgresql://postgres@127.0.0.1:1/x?sslmode=disable&PASSWORD=s3cret",
    ],
    ids=["query", "query-upper"],
)
def test_a_password_given_as_a_url_parameter_is_masked_too(repo: Path, url: str) -> None:
    """libpq takes ``?password=`` as it takes ``user:password@``: masked alike."""
    result = _run("status", str(repo), "--store", url)
    assert result.exit_code == 1
    line = _error_line(result)
    assert "cannot connect to the store postgresql://postgres@127.0.0.1:1/x?" in line
    assert "=***" in line and "s3cret" not in result.output


def test_read_only_commands_refuse_a_postgresql_database_without_the_store(
    repo: Path, postgres_db: str
) -> None:
    result = _run("status", str(repo), "--store", postgres_db)
    assert result.exit_code == 1
    assert "does not exist" in _error_line(result)
    assert _run("sync", str(repo), "--store", postgres_db).exit_code == 0
    assert _run("status", str(repo), "--store", postgres_db).exit_code == 0


def test_hints_keep_a_postgresql_store_given_with_a_password_without_it(
    repo: Path, postgres_db: str
) -> None:
    """A hint left without ``--store`` ran against the default SQLite store: the orders
    went to the targets and their record to another store. The hint names the same
    store, its password left out (here the test server trusts local connections; a real
    one finds it in PGPASSWORD or ~/.pgpass, or refuses loudly)."""
    url = postgres_db.replace("postgresql://", "postgresql://postgres:s3cret-pw@", 1)
    if "@" in postgres_db:  # the server's URL names its user already
        url = postgres_db + ("&" if "?" in postgres_db else "?") + "password=s3cret-pw"
    assert _run("sync", str(repo), "--store", url).exit_code == 0
    made = _run("plan", str(repo), "--out", str(repo / "plan.json"), "--store", url)
    assert made.exit_code == 0, made.output
    assert "s3cret-pw" not in made.output
    hinted = [h for h in re.findall(r"`(accesshive apply [^`]*)`", made.output)]
    assert hinted, made.output
    assert "--store postgresql://" in hinted[0]
    words = shlex.split(hinted[0])[1:]
    applied = _run(*words)  # as printed: the same store (here without a password)
    assert "s3cret-pw" not in applied.output
    assert not (repo / ".accesshive" / "default.db").exists()
