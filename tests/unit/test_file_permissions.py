"""Secrets at rest are readable by their owner only: the state store's and the vault's
SQLite files (and their journals) are 0600, master key files are written 0600 and
refused when their group or others may read or write them.

Real files in tmp_path, under a permissive umask (0o022, what most systems use): without
the protections, SQLite and plain writes would make these files 0644.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.errors import VaultError
from accesshive.store import open_store
from accesshive.vault import Vault
from accesshive.vault.keys import Keyring, MasterKey, read_key_file, write_key_file

CONFIG = """version: 1
name: perms
sources:
  vault:
    kind: vault
    connection: {path: secrets/vault.db, key_file: master.key}
identities:
  ada:
    type: human
    attributes: {email: ada@example.com}
  deploy-key:
    type: service_account
    owner: ada
    credential: {supplied_by: stdin}
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "accesshive.yaml").write_text(CONFIG)
    result = CliRunner().invoke(main, ["vault", "init", "--key-file", str(root / "master.key")])
    assert result.exit_code == 0, result.output
    return root


def companions(db: Path) -> list[Path]:
    return [p for s in ("-wal", "-shm", "-journal") if (p := db.with_name(db.name + s)).exists()]


# ----------------------------------------------------------------- the SQLite files


def test_new_store_and_its_journals_are_owner_only(tmp_path: Path) -> None:
    store = open_store(tmp_path, "default")
    try:
        store.audit("tester", "probe", None, {})  # a write: the WAL file exists now
        db = tmp_path / ".accesshive" / "default.db"
        assert mode(db) == 0o600
        assert companions(db), "the store is in WAL mode: its -wal file exists while open"
        for journal in companions(db):
            assert mode(journal) == 0o600, journal
    finally:
        store.close()
    assert mode(tmp_path / ".accesshive") == 0o700  # the directory we created


def test_existing_world_readable_store_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / ".accesshive" / "default.db"
    db.parent.mkdir()
    older = sqlite3.connect(db)  # an older version's store, still open: 0644 here
    older.execute("PRAGMA journal_mode=WAL")
    older.execute("CREATE TABLE probe (x)")
    try:
        wal = db.with_name(db.name + "-wal")
        assert mode(db) == mode(wal) == 0o644
        open_store(tmp_path, "default").close()
        assert mode(db) == 0o600
        assert mode(wal) == 0o600  # its journal beside it too
    finally:
        older.close()
    assert mode(db.parent) == 0o755  # an existing directory is left as it is


def test_new_vault_and_its_journals_are_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "secrets" / "vault.db"
    with Vault(db, Keyring((MasterKey.generate(),))) as vault:
        vault.put("deploy-key", "password", "s3cret-value")
        assert mode(db) == 0o600
        assert companions(db)
        for journal in companions(db):
            assert mode(journal) == 0o600, journal
    assert mode(db.parent) == 0o700


def test_existing_world_readable_vault_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "vault.db"
    sqlite3.connect(db).close()
    os.chmod(db, 0o664)
    Vault(db, None).close()
    assert mode(db) == 0o600


def test_cli_run_leaves_owner_only_databases(repo: Path) -> None:
    put = CliRunner().invoke(main, ["vault", "put", "deploy-key", "-C", str(repo)], input="x1\n")
    assert put.exit_code == 0, put.output
    assert mode(repo / "secrets" / "vault.db") == 0o600
    assert mode(repo / ".accesshive" / "default.db") == 0o600
    assert mode(repo / ".accesshive") == 0o700


# ----------------------------------------------------------------- master key files


def test_vault_init_writes_the_key_owner_only(tmp_path: Path) -> None:
    os.umask(0)  # even with no umask at all
    key = tmp_path / "keys" / "master.key"
    result = CliRunner().invoke(main, ["vault", "init", "--key-file", str(key)])
    assert result.exit_code == 0, result.output
    assert mode(key) == 0o600
    assert mode(key.parent) == 0o700
    assert Keyring.parse(read_key_file(key))
    assert sorted(p.name for p in key.parent.iterdir()) == ["master.key"]  # no temp file left


def test_vault_init_never_overwrites(tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    key.write_text("precious\n")
    result = CliRunner().invoke(main, ["vault", "init", "--key-file", str(key)])
    assert result.exit_code == 1
    assert "never overwritten" in result.output
    assert key.read_text() == "precious\n"


@pytest.mark.parametrize("loose", [0o640, 0o604, 0o620, 0o644])
def test_key_file_open_to_others_is_refused(repo: Path, loose: int) -> None:
    key = repo / "master.key"
    os.chmod(key, loose)
    put = CliRunner().invoke(main, ["vault", "put", "deploy-key", "-C", str(repo)], input="x1\n")
    assert put.exit_code == 1
    assert f"the master key file {key} has mode 0{loose:o}" in put.output
    assert f"chmod 600 {key}" in put.output
    assert not (repo / "secrets" / "vault.db").exists()  # nothing was stored


def test_owner_only_key_file_is_accepted(repo: Path) -> None:
    os.chmod(repo / "master.key", 0o400)
    put = CliRunner().invoke(main, ["vault", "put", "deploy-key", "-C", str(repo)], input="x1\n")
    assert put.exit_code == 0, put.output


def test_rotation_rewrites_the_key_file_owner_only(repo: Path) -> None:
    runner = CliRunner()
    put = runner.invoke(main, ["vault", "put", "deploy-key", "-C", str(repo)], input="x1\n")
    assert put.exit_code == 0, put.output
    before = (repo / "master.key").read_text()
    rotated = runner.invoke(main, ["vault", "rotate-key", "-C", str(repo)])
    assert rotated.exit_code == 0, rotated.output
    assert (repo / "master.key").read_text() != before
    assert mode(repo / "master.key") == 0o600
    assert sorted(p.name for p in repo.iterdir() if "master.key" in p.name) == ["master.key"]


def test_rotation_never_writes_into_a_key_file_open_to_others(repo: Path) -> None:
    out = repo / "new.key"
    out.write_text("")  # created 0644 by this umask, e.g. by `touch`
    rotated = CliRunner().invoke(
        main, ["vault", "rotate-key", "-C", str(repo), "--key-out", str(out)]
    )
    assert rotated.exit_code == 1
    assert "has mode 0644" in rotated.output and f"chmod 600 {out}" in rotated.output
    assert out.read_text() == ""


def test_write_key_file_refuses_a_file_open_to_others(tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    key.write_text("old\n")
    os.chmod(key, 0o644)
    with pytest.raises(VaultError, match=r"has mode 0644.*chmod 600"):
        write_key_file(key, Keyring((MasterKey.generate(),)))
    assert key.read_text() == "old\n"
    assert mode(key) == 0o644


def test_write_key_file_replaces_an_owner_only_file(tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    first, second = Keyring((MasterKey.generate(),)), Keyring((MasterKey.generate(),))
    write_key_file(key, first)
    write_key_file(key, second)
    assert read_key_file(key) == second.encode()
    assert mode(key) == 0o600
    with pytest.raises(VaultError, match="never overwritten"):
        write_key_file(key, first, overwrite=False)
    assert read_key_file(key) == second.encode()
