"""The credential vault: secrets encrypted at rest (AES-256-GCM, envelope style).

``open_vault(config, source_id)`` opens the vault a ``kind: vault`` source
describes: ``connection.path`` (the SQLite file, relative to the config
repository; default ``.accesshive/vault.db``) and the master keyring from
``connection.key`` (a reference such as ``${env:ACCESSHIVE_MASTER_KEY}``) or
``connection.key_file`` (a file written by ``accesshive vault init``, mode 600; a key
file its group or others may read or write is refused).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from accesshive.config import Config
from accesshive.connectors.references import resolve
from accesshive.errors import ConnectorError, VaultError
from accesshive.state.snapshot import SnapshotCredential, SourceSnapshot
from accesshive.store.base import now
from accesshive.vault.keys import Keyring, MasterKey, read_key_file, write_key_file
from accesshive.vault.passwords import generate_password
from accesshive.vault.store import SecretInfo, Vault


def vault_path(config: Config, source_id: str) -> Path:
    raw = str(config.sources[source_id].connection.get("path", ".accesshive/vault.db"))
    path = Path(raw)
    return path if path.is_absolute() else config.root / path


def keyring_for(config: Config, source_id: str) -> Keyring:
    connection = config.sources[source_id].connection
    environ = dict(os.environ)
    try:
        if connection.get("key"):
            text = resolve(connection["key"], source_id, config.root, environ)
        elif connection.get("key_file"):
            path = Path(str(connection["key_file"]))
            path = path if path.is_absolute() else config.root / path
            text = read_key_file(path)  # refused when its group or others may read it
        else:
            text = environ.get("ACCESSHIVE_MASTER_KEY", "")
            if not text:
                raise VaultError(
                    f"vault '{source_id}' has no master key: set connection.key (e.g. "
                    "${env:ACCESSHIVE_MASTER_KEY}) or connection.key_file; "
                    "`accesshive vault init` makes one"
                )
    except ConnectorError as exc:
        raise VaultError(f"vault '{source_id}': {exc.message}") from exc
    return Keyring.parse(str(text))


def open_vault(config: Config, source_id: str | None = None, *, keys: bool = True) -> Vault:
    """Open a vault; ``keys=False`` opens its metadata only (no master key needed)."""
    if source_id is None:
        vaults = config.sources_of_kind("vault")
        if len(vaults) != 1:
            raise VaultError("name the vault source: the configuration has " + str(len(vaults)))
        source_id = vaults[0]
    keyring = keyring_for(config, source_id) if keys else None
    return Vault(vault_path(config, source_id), keyring)


def read_vault(config: Config, source_id: str) -> SourceSnapshot:
    """What sync stores of a vault: credential metadata, never a secret."""
    with open_vault(config, source_id, keys=False) as vault:
        return SourceSnapshot(
            credentials=[
                SnapshotCredential(
                    identity=i.identity,
                    kind=i.kind,
                    stored_at=dt.date.fromisoformat(i.stored_at),
                    rotated_at=dt.date.fromisoformat(i.rotated_at),
                    key_id=i.key_id,
                )
                for i in vault.list()
            ],
            read_at=now(),
        )


__all__ = [
    "Keyring",
    "MasterKey",
    "SecretInfo",
    "Vault",
    "generate_password",
    "keyring_for",
    "open_vault",
    "read_vault",
    "vault_path",
    "write_key_file",
]
