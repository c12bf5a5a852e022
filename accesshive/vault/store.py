"""The vault's own storage: a SQLite file of sealed secrets and their metadata.

Only ciphertext and wrapped data keys are written here; metadata (identity,
kind, key id, dates) is what ``vault list`` and sync see. Every write is one
transaction, so re-wrapping thousands of secrets under a new master key can be
interrupted at any point and resumed: each record is either still under the
old key or already under the new one, and both open while the keyring holds both.
The file (and SQLite's journals beside it) is readable by its owner only (mode 0600).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from accesshive.errors import VaultError
from accesshive.private_files import create_private_file
from accesshive.vault.envelope import Sealed, rewrap, seal, unseal
from accesshive.vault.keys import Keyring


@dataclass(frozen=True)
class SecretInfo:
    identity: str
    kind: str
    key_id: str
    stored_at: str
    rotated_at: str
    version: int


def _today() -> str:
    return dt.date.today().isoformat()


class Vault:
    def __init__(self, path: Path, keyring: Keyring | None) -> None:
        """``keyring`` None opens the metadata only (list, sync): no secret can be read."""
        self.path = path
        self._keyring = keyring
        self._lock = threading.Lock()  # apply stores credentials from several threads
        try:
            create_private_file(path)  # 0600 before SQLite sees it; its journals follow
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=30, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise VaultError(f"cannot open the vault {path}: {exc}") from exc
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS secrets (identity TEXT PRIMARY KEY, kind TEXT NOT NULL, "
            "key_id TEXT NOT NULL, wrapped_key BLOB NOT NULL, ciphertext BLOB NOT NULL, "
            "stored_at TEXT NOT NULL, rotated_at TEXT NOT NULL, version INTEGER NOT NULL)"
        )

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            raise VaultError(f"the vault {self.path} was opened without its master key")
        return self._keyring

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, identity: str, kind: str, value: str) -> SecretInfo:
        """Store (or replace: a rotation) the secret of ``identity``."""
        if not value:
            raise VaultError(f"refusing to store an empty credential for '{identity}'")
        sealed = seal(value, self.keyring, identity, kind)
        today = _today()
        with self._lock:
            self._write(identity, kind, sealed, today)
        info = self.info(identity)
        assert info is not None
        return info

    def _write(self, identity: str, kind: str, sealed: Sealed, today: str) -> None:
        existing = self.info(identity)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if existing is None:
                self._db.execute(
                    "INSERT INTO secrets VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                    (
                        identity,
                        kind,
                        sealed.key_id,
                        sealed.wrapped_key,
                        sealed.ciphertext,
                        today,
                        today,
                    ),
                )
            else:
                self._db.execute(
                    "UPDATE secrets SET kind = ?, key_id = ?, wrapped_key = ?, ciphertext = ?, "
                    "rotated_at = ?, version = version + 1 WHERE identity = ?",
                    (kind, sealed.key_id, sealed.wrapped_key, sealed.ciphertext, today, identity),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def get(self, identity: str) -> str:
        row = self._db.execute(
            "SELECT kind, key_id, wrapped_key, ciphertext FROM secrets WHERE identity = ?",
            (identity,),
        ).fetchone()
        if row is None:
            raise VaultError(f"the vault holds no credential for '{identity}'")
        return unseal(Sealed(row[1], row[2], row[3]), self.keyring, identity, row[0])

    def info(self, identity: str) -> SecretInfo | None:
        row = self._db.execute(
            "SELECT identity, kind, key_id, stored_at, rotated_at, version FROM secrets "
            "WHERE identity = ?",
            (identity,),
        ).fetchone()
        return SecretInfo(*row) if row else None

    def list(self) -> list[SecretInfo]:
        rows = self._db.execute(
            "SELECT identity, kind, key_id, stored_at, rotated_at, version FROM secrets "
            "ORDER BY identity"
        ).fetchall()
        return [SecretInfo(*r) for r in rows]

    def delete(self, identity: str) -> None:
        self._db.execute("DELETE FROM secrets WHERE identity = ?", (identity,))

    def rewrap_all(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Re-wrap every data key under the current master key; resumable; returns how many."""
        current = self.keyring.current.key_id
        todo = [
            r[0]
            for r in self._db.execute(
                "SELECT identity FROM secrets WHERE key_id != ? ORDER BY identity", (current,)
            )
        ]
        for done, identity in enumerate(todo, start=1):
            row = self._db.execute(
                "SELECT key_id, wrapped_key, ciphertext FROM secrets WHERE identity = ?",
                (identity,),
            ).fetchone()
            fresh = rewrap(Sealed(row[0], row[1], row[2]), self.keyring)
            self._db.execute(
                "UPDATE secrets SET key_id = ?, wrapped_key = ? WHERE identity = ? AND key_id = ?",
                (fresh.key_id, fresh.wrapped_key, identity, row[0]),
            )
            if progress:
                progress(done, len(todo))
        return len(todo)
