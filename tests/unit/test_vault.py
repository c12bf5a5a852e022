"""The vault: envelope encryption round trips, wrong keys, tampering, and key rotation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from accesshive.errors import VaultError
from accesshive.vault import Vault
from accesshive.vault.envelope import seal, unseal
from accesshive.vault.keys import Keyring, MasterKey


def _ring() -> Keyring:
    return Keyring((MasterKey.generate(),))


def test_round_trip_and_authenticated_identity() -> None:
    ring = _ring()
    sealed = seal("s3cret-value", ring, "ci-key", "api_key")
    assert unseal(sealed, ring, "ci-key", "api_key") == "s3cret-value"
    assert "s3cret" not in repr(sealed)
    with pytest.raises(VaultError, match="belongs to another identity"):
        unseal(sealed, ring, "other", "api_key")


def test_wrong_key_is_named_not_used() -> None:
    sealed = seal("x", _ring(), "a", "password")
    with pytest.raises(VaultError, match="not in the keyring"):
        unseal(sealed, _ring(), "a", "password")


def test_keyring_text_is_checked() -> None:
    ring = _ring()
    assert Keyring.parse(ring.encode()).current.key_id == ring.current.key_id
    forged = ring.encode().replace(ring.current.key_id, "0" * 16)
    with pytest.raises(VaultError, match="does not match its id"):
        Keyring.parse(forged)
    assert ring.current.encode().split(":")[2] not in repr(ring)


def test_tampered_ciphertext_does_not_open(tmp_path: Path) -> None:
    ring = _ring()
    with Vault(tmp_path / "v.db", ring) as vault:
        vault.put("bot", "api_key", "token-123")
    db = sqlite3.connect(tmp_path / "v.db")
    (blob,) = db.execute("SELECT ciphertext FROM secrets").fetchone()
    db.execute("UPDATE secrets SET ciphertext = ?", (blob[:-1] + bytes([blob[-1] ^ 1]),))
    db.commit()
    with Vault(tmp_path / "v.db", ring) as vault, pytest.raises(VaultError, match="altered"):
        vault.get("bot")


def test_nothing_in_clear_on_disk(tmp_path: Path) -> None:
    with Vault(tmp_path / "v.db", _ring()) as vault:
        vault.put("bot", "api_key", "very-secret-token-value")
    assert b"very-secret-token-value" not in (tmp_path / "v.db").read_bytes()


def test_rotation_of_thousands_survives_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _ring()
    path = tmp_path / "v.db"
    with Vault(path, old) as vault:
        for n in range(3000):
            vault.put(f"id{n:04}", "api_key", f"value-{n}")
    new = Keyring((MasterKey.generate(), *old.keys))
    calls = {"n": 0}
    import accesshive.vault.store as store_mod

    real = store_mod.rewrap

    def crashing(sealed, keyring):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1234:
            raise KeyboardInterrupt("power cut")
        return real(sealed, keyring)

    monkeypatch.setattr(store_mod, "rewrap", crashing)
    with Vault(path, new) as vault, pytest.raises(KeyboardInterrupt):
        vault.rewrap_all()
    monkeypatch.setattr(store_mod, "rewrap", real)
    with Vault(path, new) as vault:
        assert vault.get("id0000") == "value-0"  # re-wrapped before the crash
        assert vault.get("id2999") == "value-2999"  # still under the old key
        assert vault.rewrap_all() == 3000 - 1233
        assert {i.key_id for i in vault.list()} == {new.current.key_id}
    only_new = Keyring((new.current,))
    with Vault(path, only_new) as vault:
        assert all(vault.get(f"id{n:04}") == f"value-{n}" for n in range(3000))


def test_a_deleted_secret_is_gone_from_the_vault_and_the_file(tmp_path: Path) -> None:
    ring = _ring()
    with Vault(tmp_path / "v.db", ring) as vault:
        vault.put("bot", "api_key", "token-123")
        vault.put("other", "password", "pw-456")
        vault.delete("bot")
        vault.delete("nobody")  # nothing to delete is fine
        assert vault.info("bot") is None
        assert [s.identity for s in vault.list()] == ["other"]
        assert vault.get("other") == "pw-456"
    db = sqlite3.connect(tmp_path / "v.db")
    assert db.execute("SELECT identity FROM secrets").fetchall() == [("other",)]
