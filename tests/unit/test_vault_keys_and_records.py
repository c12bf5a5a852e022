"""The vault's master keys and records as an operator meets them: each malformed key
named by its place in the ring, key files never overwritten (also on file systems
without hard links, and against a concurrent writer), secrets replaced in place with a
new version, a failed write that leaves the old secret, and errors that say which
vault, which key, which record."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from accesshive.errors import VaultError
from accesshive.vault import Vault
from accesshive.vault.keys import Keyring, MasterKey, read_key_file, write_key_file

A = MasterKey.from_bytes(bytes(range(32)))
B = MasterKey.from_bytes(bytes(range(1, 33)))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# ------------------------------------------------------------------ master keys


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no master key given"),
        (" , ", "no master key given"),
        ("ahk1:abc", "master key #1 is not in the form ahk1:<id>:<base64>"),
        (f"{A.encode()},ahk2:{A.key_id}:{_b64(A.key)}", "master key #2 is not in the form "),
        (f"{A.encode()},ahk1:{A.key_id}:{_b64(A.key)}:x", "master key #2 is not in the form "),
        (f"ahk1:{A.key_id}:not*base64", "master key #1 is not valid base64"),
        (
            f"{A.encode()},ahk1:{B.key_id}:{_b64(B.key)[:8]}!{_b64(B.key)[8:]}",
            "master key #2 is not valid base64",
        ),
        (f"ahk1:{A.key_id}:{_b64(bytes(16))}", "a master key is 32 bytes (AES-256)"),
        (
            f"{A.encode()},{B.encode()},ahk1:{A.key_id}:{_b64(B.key)}",
            f"master key #3 does not match its id {A.key_id}",
        ),
    ],
)
def test_a_malformed_keyring_names_the_key_and_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(VaultError) as caught:
        Keyring.parse(text)
    assert str(caught.value).startswith(message)
    assert A.encode().split(":")[2] not in str(caught.value)  # never the key itself


def test_a_secret_under_a_key_not_in_the_ring_names_the_ring(tmp_path: Path) -> None:
    with Vault(tmp_path / "v.db", Keyring((A,))) as vault:
        vault.put("bot", "api_key", "t")
    other = MasterKey.from_bytes(bytes(range(2, 34)))
    with Vault(tmp_path / "v.db", Keyring((B, other))) as vault, pytest.raises(VaultError) as e:
        vault.get("bot")
    assert str(e.value) == (
        f"the secret is wrapped by master key {A.key_id}, which is not in the keyring "
        f"({B.key_id}, {other.key_id}); add the old key to open it"
    )


def test_a_key_file_open_to_others_is_refused_with_how_to_fix_it(tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    key.write_text(A.encode())
    os.chmod(key, 0o640)
    expected = (
        f"the master key file {key} has mode 0640: its group or others can read or write it, "
        f"so accesshive refuses it; make it readable by you only with `chmod 600 {key}` "
        "(and, if others could read it, rotate the master key: `accesshive vault rotate-key`)"
    )
    for refused in (lambda: read_key_file(key), lambda: write_key_file(key, Keyring((B,)))):
        with pytest.raises(VaultError) as caught:
            refused()
        assert str(caught.value) == expected
    assert key.read_text() == A.encode()


def test_key_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.key"
    with pytest.raises(VaultError) as caught:
        read_key_file(missing)
    assert str(caught.value) == f"cannot read the key file {missing} (No such file or directory)"
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(VaultError) as caught:
        write_key_file(blocker / "master.key", Keyring((A,)))
    assert str(caught.value).startswith(f"cannot write the key file {blocker / 'master.key'} (")


def test_without_hard_links_a_new_key_file_is_still_created_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(src: str, dst: str) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    key = tmp_path / "keys" / "master.key"
    write_key_file(key, Keyring((A, B)), overwrite=False)
    assert read_key_file(key) == Keyring((A, B)).encode()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert [p.name for p in key.parent.iterdir()] == ["master.key"]  # no temporary left
    with pytest.raises(VaultError) as caught:
        write_key_file(key, Keyring((B,)), overwrite=False)
    assert str(caught.value) == f"{key} exists; a master key is never overwritten"
    assert read_key_file(key) == Keyring((A, B)).encode()


def test_a_key_file_created_meanwhile_by_another_process_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "master.key"
    real_link = os.link

    def racing_link(src: str, dst: str) -> None:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"the other process's key\n")
        os.close(fd)
        real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(VaultError) as caught:
        write_key_file(key, Keyring((A,)), overwrite=False)
    assert str(caught.value) == f"{key} exists; a master key is never overwritten"
    assert key.read_text() == "the other process's key\n"
    assert [p.name for p in tmp_path.iterdir()] == ["master.key"]

    def racing_without_links(src: str, dst: str) -> None:
        Path(dst).write_text("another one\n")
        raise PermissionError(1, "Operation not permitted")

    other = tmp_path / "other.key"
    monkeypatch.setattr(os, "link", racing_without_links)
    with pytest.raises(VaultError) as caught:
        write_key_file(other, Keyring((A,)), overwrite=False)
    assert str(caught.value) == f"{other} exists; a master key is never overwritten"
    assert other.read_text() == "another one\n"


# ------------------------------------------------------------------ the records


def test_putting_a_secret_again_replaces_it_with_a_new_version(tmp_path: Path) -> None:
    with Vault(tmp_path / "v.db", Keyring((A,))) as vault:
        first = vault.put("bot", "api_key", "one")
        second = vault.put("bot", "password", "two")
        third = vault.put("other", "api_key", "x")
        assert (first.version, second.version, third.version) == (1, 2, 1)
        assert vault.get("bot") == "two"
        info = vault.info("bot")
        assert info is not None and (info.kind, info.version) == ("password", 2)
        assert info.stored_at == first.stored_at
        assert [i.identity for i in vault.list()] == ["bot", "other"]


def test_a_write_that_fails_keeps_the_old_secret_and_the_vault_usable(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with Vault(path, Keyring((A,))) as vault:
        vault.put("bot", "api_key", "one")
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TRIGGER frozen BEFORE UPDATE ON secrets "
        "BEGIN SELECT RAISE(ABORT, 'the record is frozen'); END"
    )
    db.commit()
    with Vault(path, Keyring((A,))) as vault:
        with pytest.raises(sqlite3.IntegrityError, match="the record is frozen"):
            vault.put("bot", "api_key", "two")
        assert vault.get("bot") == "one"
        assert vault.put("new", "api_key", "three").version == 1  # not stuck in a transaction
    db.execute("DROP TRIGGER frozen")
    db.commit()
    db.close()


def test_errors_about_records_say_which_and_why(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with Vault(path, Keyring((A,))) as vault:
        with pytest.raises(VaultError) as caught:
            vault.put("bot", "api_key", "")
        assert str(caught.value) == "refusing to store an empty credential for 'bot'"
        with pytest.raises(VaultError) as caught:
            vault.get("nobody")
        assert str(caught.value) == "the vault holds no credential for 'nobody'"
        vault.put("bot", "api_key", "one")
    with Vault(path, None) as metadata, pytest.raises(VaultError) as caught:
        metadata.get("bot")
    assert str(caught.value) == f"the vault {path} was opened without its master key"
    with pytest.raises(VaultError) as caught:
        Vault(tmp_path, Keyring((A,)))  # a directory, not a database file
    assert str(caught.value).startswith(f"cannot open the vault {tmp_path}: ")


def test_an_altered_record_says_what_does_not_open(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with Vault(path, Keyring((A,))) as vault:
        vault.put("bot", "api_key", "one")
        vault.put("mover", "api_key", "two")
    db = sqlite3.connect(path)
    (wrapped,) = db.execute("SELECT wrapped_key FROM secrets WHERE identity = 'bot'").fetchone()
    db.execute(
        "UPDATE secrets SET wrapped_key = ? WHERE identity = 'bot'",
        (wrapped[:-1] + bytes([wrapped[-1] ^ 1]),),
    )
    (moved,) = db.execute("SELECT ciphertext FROM secrets WHERE identity = 'mover'").fetchone()
    db.execute("UPDATE secrets SET ciphertext = ? WHERE identity = 'bot'", (moved,))
    db.commit()
    db.close()
    with Vault(path, Keyring((A,))) as vault:
        with pytest.raises(VaultError) as caught:
            vault.get("bot")
        assert str(caught.value) == (
            f"a data key wrapped by master key {A.key_id} does not open: wrong key or "
            "altered record"
        )
    db = sqlite3.connect(path)
    (good,) = db.execute("SELECT wrapped_key FROM secrets WHERE identity = 'mover'").fetchone()
    db.execute("UPDATE secrets SET wrapped_key = ? WHERE identity = 'bot'", (good,))
    (blob,) = db.execute("SELECT ciphertext FROM secrets WHERE identity = 'mover'").fetchone()
    db.execute(
        "UPDATE secrets SET ciphertext = ? WHERE identity = 'mover'",
        (bytes([blob[0] ^ 1]) + blob[1:],),
    )
    db.commit()
    db.close()
    with Vault(path, Keyring((A,))) as vault, pytest.raises(VaultError) as caught:
        vault.get("mover")
    assert str(caught.value) == (
        "the secret of 'mover' does not open: its ciphertext was altered or belongs to "
        "another identity"
    )


def test_rewrapping_reports_its_progress_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    with Vault(path, Keyring((A,))) as vault:
        for n in range(3):
            vault.put(f"id{n}", "api_key", f"v{n}")
    seen: list[tuple[int, int]] = []
    with Vault(path, Keyring((B, A))) as vault:
        assert vault.rewrap_all(lambda done, total: seen.append((done, total))) == 3
        assert vault.rewrap_all(lambda done, total: seen.append((done, total))) == 0
        assert {i.key_id for i in vault.list()} == {B.key_id}
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with Vault(path, Keyring((B,))) as vault:
        assert [vault.get(f"id{n}") for n in range(3)] == ["v0", "v1", "v2"]
