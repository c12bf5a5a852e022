"""The system a source writes to: the key that sensitivity and review rules follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accesshive.config.model import Source
from accesshive.config.targets import aliases, target_of


def _source(kind: str, **connection: Any) -> Source:
    return Source.model_validate({"kind": kind, "connection": connection})


def test_two_spellings_of_one_database_are_one_target(tmp_path: Path) -> None:
    one = _source(
        "sql", url="postgresql://app:s3cret@DB.example.com:5432/wiki", accounts_table="users"
    )
    two = _source(
        "sql", url="postgres+psycopg://other@db.example.com/wiki/", accounts_table="USERS"
    )
    assert target_of("a", one, tmp_path) == target_of("b", two, tmp_path)
    assert "s3cret" not in target_of("a", one, tmp_path)
    assert "app" not in target_of("a", one, tmp_path)


def test_another_table_host_or_base_is_another_target(tmp_path: Path) -> None:
    base = _source("sql", url="postgresql://db/wiki", accounts_table="users")
    others = [
        _source("sql", url="postgresql://db/wiki", accounts_table="admins"),
        _source("sql", url="postgresql://db2/wiki", accounts_table="users"),
        _source("sql", url="postgresql://db:5433/wiki", accounts_table="users"),
    ]
    keys = {target_of("s", s, tmp_path) for s in [base, *others]}
    assert len(keys) == 4


def test_a_sqlite_file_under_another_name_or_a_link_is_the_same_target(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "app.db").write_bytes(b"")
    (tmp_path / "mirror.db").symlink_to(tmp_path / "data" / "app.db")
    keys = {
        target_of("s", _source("sql", url=url), tmp_path)
        for url in (
            "sqlite:///data/app.db",
            "sqlite:///./data//app.db",
            "sqlite:///mirror.db",
            f"sqlite:///{tmp_path}/data/app.db",
        )
    }
    assert keys == {"sql:sqlite://./data/app.db||"}


def test_a_clone_elsewhere_keeps_its_targets(tmp_path: Path) -> None:
    """CI clones the repository into a new directory on every run: the keys the store
    keeps must not change with it."""
    source = _source("manual", export="exports/badges.csv")
    assert target_of("b", source, tmp_path / "one") == target_of("b", source, tmp_path / "two")


def test_scim_and_ldap_keys_leave_out_credentials_and_defaults(tmp_path: Path) -> None:
    scim = _source("scim", base_url="https://App.example.com/scim/v2/?token=abc", token="t0ken")
    assert target_of("s", scim, tmp_path) == "scim:https://app.example.com/scim/v2"
    ldap = _source(
        "ldap", url="ldap://dir:389", users_dn="OU=People,DC=example", bind_password="pw"
    )
    assert target_of("l", ldap, tmp_path) == "ldap:ldap://dir"


def test_every_base_on_one_directory_server_is_one_target(tmp_path: Path) -> None:
    """A group is reachable from any base above it, and a DN has many spellings: every
    source on one directory server is one target."""
    keys = {
        target_of("s", _source("ldap", url="ldap://Dir.example:389", groups_dn=dn), tmp_path)
        for dn in ("ou=groups,dc=example,dc=com", "ou = groups,dc=example,dc=com", "dc=example")
    }
    assert keys == {"ldap:ldap://dir.example"}


def test_a_source_that_picks_no_system_is_its_own_target(tmp_path: Path) -> None:
    plugin = _source("scim", connector="my_plugin", base_url="https://app/scim")
    assert target_of("x", plugin, tmp_path) == "source:x"
    assert target_of("y", _source("scim"), tmp_path) == "source:y"


def test_every_source_on_a_target_is_known_by_each_name() -> None:
    found = aliases({"wiki": "T", "wiki-mirror": "T", "badges": "U"})
    assert found == {
        "wiki": frozenset({"wiki", "wiki-mirror"}),
        "wiki-mirror": frozenset({"wiki", "wiki-mirror"}),
        "badges": frozenset({"badges"}),
    }
