"""Credential orders: storing and rotating secrets in the vault during apply.

- A managed shared credential's password is generated on its Google Workspace
  account at create time and stored in the vault in the same step. If the
  vault refuses it after the target accepted it, the create is not verified
  and the next run rotates the password: no password ever exists only on a target.
- An external credential is read at apply time from where its ``supplied_by``
  points (``${env:NAME}``, ``${file:PATH}``), or must have been put beforehand
  with ``accesshive vault put``.
No secret value ever reaches an order state, a message or an exception.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from accesshive.config import Config
from accesshive.connectors.base import Connector
from accesshive.connectors.references import resolve
from accesshive.errors import ConnectorError, VaultError
from accesshive.plan.orders import Order
from accesshive.vault import Vault, generate_password, open_vault


class CredentialKeeper:
    """Opens the vault once per apply and performs the credential steps."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._vaults: dict[str, Vault] = {}
        self._lock = threading.Lock()

    def vault(self, source_id: str) -> Vault:
        with self._lock:
            if source_id not in self._vaults:
                self._vaults[source_id] = open_vault(self.config, source_id)
            return self._vaults[source_id]

    def close(self) -> None:
        for vault in self._vaults.values():
            vault.close()

    def new_password(self) -> str:
        return generate_password(self.config.policies.password)

    def keep_generated(self, identity: str, password: str) -> None:
        """Store a password a target just accepted (managed shared credential)."""
        ident = self.config.identities[identity]
        vault_id = self.config.vault_for(ident)
        if vault_id is None:
            raise VaultError(f"identity '{identity}' has no vault source")
        self.vault(vault_id).put(identity, "password", password)

    def store(
        self,
        order: Order,
        account_of: Callable[[str, str], str | None],
        connector: Callable[[str], Any],
    ) -> str:
        """Perform store_credential/rotate_credential; return a message (never the secret)."""
        c = order.change
        identity = c.identity or ""
        vault = self.vault(c.source)
        rotate = order.action == "rotate_credential"
        if c.details.get("mode") == "managed":
            if not rotate and vault.info(identity) is not None:
                return "stored when its account was created"
            return self._rotate_on_target(order, vault, account_of, connector)
        value = self._supplied(order)
        if value is None:
            if vault.info(identity) is not None and not rotate:
                return "supplied earlier with `accesshive vault put`"
            raise VaultError(
                f"no value supplied for '{identity}': run `accesshive vault put {identity}` "
                "(reads stdin), or set credential.supplied_by"
            )
        info = vault.put(identity, str(c.details.get("credential_kind", "secret")), value)
        return f"stored (version {info.version}, key {info.key_id})"

    def _supplied(self, order: Order) -> str | None:
        ref = order.change.details.get("supplied_by")
        if not ref or ref == "stdin":
            return None
        try:
            value = resolve(ref, order.change.source, self.config.root, dict(os.environ))
        except ConnectorError as exc:
            raise VaultError(exc.message) from exc
        return str(value)

    def _rotate_on_target(
        self,
        order: Order,
        vault: Vault,
        account_of: Callable[[str, str], str | None],
        connector: Callable[[str], Any],
    ) -> str:
        c = order.change
        identity = c.identity or ""
        source = str(c.details.get("account_source") or "")
        # created by this plan, or else known from the snapshot the plan was made from
        ext = account_of(source, identity) or c.details.get("account")
        if not source or ext is None:
            raise VaultError(f"the account of '{identity}' on '{source}' is unknown; sync first")
        password = self.new_password()
        with connector(source) as conn:
            assert isinstance(conn, Connector)
            conn.update_account(ext, {"password": password})
        try:
            info = vault.put(identity, "password", password)
        except VaultError as exc:
            raise VaultError(
                f"the new password was set on {source} but the vault refused it ({exc}); the "
                "next apply rotates it again"
            ) from exc
        return f"password rotated on {source} and stored (version {info.version})"
