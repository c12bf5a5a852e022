"""Master keys: the keys that wrap every secret's own data key.

A master key is written ``ahk1:<key id>:<base64 of 32 bytes>``; a keyring is one
or more of them separated by commas, the first being current (new secrets and
re-wrapping use it; the others only open older secrets). The key id is derived
from the key (a truncated SHA-256), so a wrong key is recognised, never used.
Keys come from an environment variable or a key file (``accesshive vault init``);
the design leaves room for a KMS or HashiCorp Vault to hold them instead.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from accesshive.errors import VaultError

PREFIX = "ahk1"


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    key: bytes

    def __repr__(self) -> str:  # never show the key itself
        return f"MasterKey(key_id={self.key_id!r})"

    @classmethod
    def generate(cls) -> MasterKey:
        return cls.from_bytes(secrets.token_bytes(32))

    @classmethod
    def from_bytes(cls, key: bytes) -> MasterKey:
        if len(key) != 32:
            raise VaultError("a master key is 32 bytes (AES-256)")
        return cls(hashlib.sha256(b"accesshive-key-id" + key).hexdigest()[:16], key)

    def encode(self) -> str:
        return f"{PREFIX}:{self.key_id}:{base64.b64encode(self.key).decode()}"


@dataclass(frozen=True)
class Keyring:
    keys: tuple[MasterKey, ...]

    def __repr__(self) -> str:
        return f"Keyring({[k.key_id for k in self.keys]})"

    @property
    def current(self) -> MasterKey:
        return self.keys[0]

    def get(self, key_id: str) -> MasterKey:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise VaultError(
            f"the secret is wrapped by master key {key_id}, which is not in the keyring "
            f"({', '.join(k.key_id for k in self.keys)}); add the old key to open it"
        )

    def encode(self) -> str:
        return ",".join(k.encode() for k in self.keys)

    @classmethod
    def parse(cls, text: str) -> Keyring:
        keys = []
        for n, item in enumerate(t.strip() for t in text.split(",") if t.strip()):
            parts = item.split(":")
            if len(parts) != 3 or parts[0] != PREFIX:
                raise VaultError(f"master key #{n + 1} is not in the form {PREFIX}:<id>:<base64>")
            try:
                raw = base64.b64decode(parts[2], validate=True)
            except ValueError as exc:
                raise VaultError(f"master key #{n + 1} is not valid base64") from exc
            key = MasterKey.from_bytes(raw)
            if key.key_id != parts[1]:
                raise VaultError(f"master key #{n + 1} does not match its id {parts[1]}")
            keys.append(key)
        if not keys:
            raise VaultError("no master key given")
        return cls(tuple(keys))


def write_key_file(path: Path, keyring: Keyring) -> None:
    """Write a keyring readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(keyring.encode() + "\n")
