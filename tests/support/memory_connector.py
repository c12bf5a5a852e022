"""The in-memory connector: the tests' stand-in target (and a template for new connectors).

It keeps accounts in a dict shared by name (``connection.store``), honours every
obligation of the protocol (idempotent create/grant/revoke/delete, adoption by
correlation) and can be told to fail, to test retries and fail-closed reads.

It is not shipped: a fault-injecting target has no place in the connector
registry of a production install. ``tests/conftest.py`` registers it as the
``memory`` connector for the test session only (``registry.register``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from accesshive.connectors.base import Capabilities, Connector, Created, Page
from accesshive.state.snapshot import SnapshotAccount


class MemoryConnector(Connector):
    kind = "memory"
    capabilities = Capabilities(page_size=2)
    stores: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {}
    _ids = itertools.count(1)

    @property
    def _store_name(self) -> str:
        return str(self.source.connection.get("store", self.source_id))

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        return self.stores.setdefault(self._store_name, {})

    failures: ClassVar[dict[tuple[str, str], int]] = {}
    """(source, operation) → calls that consulted ``connection.fail.<operation>``."""
    fired: ClassVar[dict[tuple[str, str], int]] = {}
    """(source, operation) → how many times an injected fault actually fired."""
    broken: ClassVar[set[str]] = set()
    """Stores whose target is "down": every call after the first page fails."""

    def _fail(self, operation: str) -> bool:
        """Fail as ``connection.fail.<operation>`` says: ``message``, ``retryable``, and
        ``times`` (fail only the first N calls; all of them when absent).

        ``drop: true`` instead of a message is a target that answers success and keeps
        nothing: no error is raised, and True tells the operation to store nothing."""
        failure = self.source.connection.get("fail", {}).get(operation)
        if not failure:
            return False
        key = (self.source_id, operation)
        count = self.failures[key] = self.failures.get(key, 0) + 1
        if "times" in failure and count > int(failure["times"]):
            return False
        self.fired[key] = self.fired.get(key, 0) + 1
        if failure.get("drop"):
            return True
        raise self.error(
            str(failure["message"]),
            retryable=bool(failure.get("retryable")),
            retry_after=failure.get("retry_after"),
        )

    def read(self) -> Iterator[Page]:
        """Pages of two; ``fail.read_page`` breaks after the first page and ``announce``
        misstates the total, to test that sync fails closed."""
        self._fail("read")
        items = sorted(self.accounts.items())
        size = self.capabilities.page_size
        announced = self.source.connection.get("announce", len(items))
        for start in range(0, max(len(items), 1), size):
            if start:
                self._fail("read_page")
                if self._store_name in self.broken:
                    raise self.error("connection reset by peer", retryable=True)
            chunk = items[start : start + size]
            yield Page([_snapshot(k, v) for k, v in chunk], announced)

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        found = self.accounts.get(external_id)
        return _snapshot(external_id, found) if found else None

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        self._fail("create_account")
        for attr in self.source.account.correlation:
            for ext, acc in self.accounts.items():
                value = attributes.get(attr)
                if (
                    value is not None
                    and str(acc["attributes"].get(attr, "")).lower() == str(value).lower()
                ):
                    return Created(ext, adopted=True)
        ext = f"m{next(self._ids)}"
        attrs = dict(attributes)
        self.accounts[ext] = {
            "identity": identity,
            "enabled": enabled,
            "password": attrs.pop("password", None),  # write-only, as on real targets
            "attributes": attrs,
            "grants": set(),
        }
        return Created(ext)

    def _account(self, external_id: str) -> dict[str, Any]:
        found = self.accounts.get(external_id)
        if found is None:
            raise self.error(f"404 Not Found: no account {external_id}")
        return found

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        account = self._account(external_id)
        attrs = dict(attributes)
        if "password" in attrs:
            account["password"] = attrs.pop("password")
        account["attributes"].update(attrs)

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        self._account(external_id)["enabled"] = enabled

    def delete_account(self, external_id: str) -> None:
        self.accounts.pop(external_id, None)

    def grant(self, external_id: str, entitlement: str) -> None:
        if self._fail("grant"):
            return  # accepted, silently dropped
        self._account(external_id)["grants"].add(entitlement)

    def revoke(self, external_id: str, entitlement: str) -> None:
        found = self.accounts.get(external_id)
        if found is not None:  # revoking from a missing account is done
            found["grants"].discard(entitlement)


def _snapshot(ext: str, acc: dict[str, Any]) -> SnapshotAccount:
    return SnapshotAccount(
        external_id=ext,
        identity=acc.get("identity"),
        enabled=acc["enabled"],
        attributes=dict(acc["attributes"]),
        grants=sorted(acc["grants"]),
    )
