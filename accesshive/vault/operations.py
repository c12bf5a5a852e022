"""What the ``accesshive vault`` commands do: init, put, get (audited), list, rotate-key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from accesshive.config import Config
from accesshive.errors import VaultError
from accesshive.store import Store
from accesshive.vault import Vault, keyring_for, open_vault, vault_path
from accesshive.vault.keys import Keyring, MasterKey, read_key_file, write_key_file
from accesshive.vault.store import SecretInfo


def init_key(path: Path) -> MasterKey:
    """Write a new master key file, mode 600 (refusing to overwrite one)."""
    if path.exists() or path.is_symlink():
        raise VaultError(f"{path} exists; a master key is never overwritten")
    key = MasterKey.generate()
    write_key_file(path, Keyring((key,)), overwrite=False)
    return key


def vault_source(config: Config, name: str | None) -> str:
    vaults = config.sources_of_kind("vault")
    if name:
        if name not in vaults:
            raise VaultError(f"'{name}' is not a vault source (vault sources: {', '.join(vaults)})")
        return name
    if len(vaults) != 1:
        if not vaults:
            raise VaultError(
                "the repository declares no vault source: declare one in sources/ "
                "(kind: vault, connection: {path: .accesshive/vault.db, key_file: <the key "
                "file `accesshive vault init` wrote>}), then run this again"
            )
        raise VaultError(f"name the vault with --vault (vault sources: {', '.join(vaults)})")
    return vaults[0]


def put_secret(
    config: Config, store: Store, source: str, identity: str, value: str, actor: str
) -> SecretInfo:
    ident = config.identities.get(identity)
    if ident is None or ident.type == "human":
        raise VaultError(f"'{identity}' is not a non-human identity of this configuration")
    with open_vault(config, source) as vault:
        kind = {"api_key": "api_key", "oauth_app": "oauth_client_secret"}.get(
            ident.type, "password"
        )
        info = vault.put(identity, kind, value)
    store.audit(actor, "vault_put", identity, {"vault": source, "version": info.version})
    return info


def reveal_secret(config: Config, store: Store, source: str, identity: str, actor: str) -> str:
    """Read a secret in clear; always audited, whether it opens or not."""
    try:
        with open_vault(config, source) as vault:
            value = vault.get(identity)
    except VaultError as exc:
        store.audit(actor, "vault_reveal_failed", identity, {"vault": source, "error": str(exc)})
        raise
    store.audit(actor, "vault_reveal", identity, {"vault": source})
    return value


def list_secrets(config: Config, source: str) -> list[SecretInfo]:
    with open_vault(config, source, keys=False) as vault:
        return vault.list()


def rotate_master_key(
    config: Config,
    store: Store,
    source: str,
    key_out: Path | None,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[MasterKey, int]:
    """Re-wrap every data key under a new master key, without losing one secret.

    The keyring file first holds the new key *and* the old ones, so a crash at
    any point leaves every secret openable; re-running resumes; only when all
    are re-wrapped is the file reduced to the new key.
    """
    connection = config.sources[source].connection
    target = key_out
    if target is None and connection.get("key_file"):
        target = Path(str(connection["key_file"]))
        target = target if target.is_absolute() else config.root / target
    if target is None:
        raise VaultError(
            "the master key comes from the environment: give --key-out FILE for the new "
            "keyring, then point the vault's key at it"
        )
    old = keyring_for(config, source)
    if target.exists() and key_out is not None:
        resumed = Keyring.parse(read_key_file(target))
        new = (
            resumed.current
            if resumed.current.key_id not in {k.key_id for k in old.keys}
            else MasterKey.generate()
        )
    else:
        new = MasterKey.generate()
    during = Keyring((new, *[k for k in old.keys if k.key_id != new.key_id]))
    write_key_file(target, during)
    with Vault(vault_path(config, source), during) as vault:
        count = vault.rewrap_all(progress)
        for info in vault.list():
            vault.get(info.identity)  # every secret opens under the new keyring
    write_key_file(target, Keyring((new,)))
    store.audit(actor, "vault_key_rotated", source, {"new_key_id": new.key_id, "rewrapped": count})
    return new, count
