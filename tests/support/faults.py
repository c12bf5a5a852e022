"""A fault-injecting connector wrapper: makes any connector fail on purpose, per call.

Faults are queued per method; each call to that method takes the next fault
(or none when the queue is empty):
- ``retryable`` / ``fatal``: raise a ConnectorError with the given message;
- ``timeout``: a retryable "timed out" error;
- ``slow``: sleep, then do the real call;
- ``exists``: the target already has the account (created behind our back), so
  create must adopt it;
- ``crash``: an exception that is not a ConnectorError (a bug in our evaluation).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from accesshive.connectors.base import Connector, Created, Page
from accesshive.state.snapshot import SnapshotAccount


@dataclass(frozen=True)
class Fault:
    kind: str
    message: str = "injected fault"
    seconds: float = 0.05


class FaultPlan:
    """Shared by every wrapped connector of a test: method → queue of faults."""

    def __init__(self) -> None:
        self.queues: dict[str, deque[Fault]] = defaultdict(deque)
        self.calls: dict[str, int] = defaultdict(int)
        self.membership_batches = False
        """Whether the wrapped connectors say they take many grants in one write."""
        self.created_account: str | None = None
        """What a create returns as the new account: "exact" (as the target holds it),
        "stale" (without its attributes), or None (nothing, as most connectors)."""

    def add(self, method: str, *faults: Fault) -> None:
        self.queues[method].extend(faults)

    def take(self, method: str) -> Fault | None:
        self.calls[method] += 1
        queue = self.queues.get(method)
        return queue.popleft() if queue else None


class FaultyConnector(Connector):
    def __init__(self, inner: Connector, faults: FaultPlan) -> None:
        super().__init__(inner.source_id, inner.source, inner.context)
        self.inner = inner
        self.faults = faults
        self.kind = inner.kind  # type: ignore[misc]
        self.capabilities = replace(  # type: ignore[misc]
            inner.capabilities, membership_batches=faults.membership_batches
        )

    def _maybe_fail(self, method: str) -> None:
        fault = self.faults.take(method)
        if fault is None:
            return
        if fault.kind == "retryable":
            raise self.error(fault.message, retryable=True)
        if fault.kind == "fatal":
            raise self.error(fault.message)
        if fault.kind == "timeout":
            raise self.error(f"timed out after {fault.seconds}s", retryable=True)
        if fault.kind == "slow":
            time.sleep(fault.seconds)
        if fault.kind == "crash":
            raise KeyError(fault.message)
        if fault.kind == "exists":
            self._exists = True

    def read(self) -> Iterator[Page]:
        self._maybe_fail("read")
        return self.inner.read()

    def get_account(self, external_id: str) -> SnapshotAccount | None:
        self._maybe_fail("get_account")
        return self.inner.get_account(external_id)

    def create_account(
        self, identity: str, attributes: Mapping[str, Any], enabled: bool
    ) -> Created:
        self._exists = False
        self._maybe_fail("create_account")
        if self._exists:  # someone created it between plan and apply
            self.inner.create_account(identity, attributes, enabled)
        created = self.inner.create_account(identity, attributes, enabled)
        held = self.inner.get_account(created.external_id)
        if self.faults.created_account is None or held is None:
            return created
        if self.faults.created_account == "stale":
            held = SnapshotAccount(external_id=held.external_id, enabled=held.enabled)
        return Created(created.external_id, created.adopted, held)

    def update_account(self, external_id: str, attributes: Mapping[str, Any]) -> None:
        self._maybe_fail("update_account")
        self.inner.update_account(external_id, attributes)

    def set_enabled(self, external_id: str, enabled: bool) -> None:
        self._maybe_fail("set_enabled")
        self.inner.set_enabled(external_id, enabled)

    def delete_account(self, external_id: str) -> None:
        self._maybe_fail("delete_account")
        self.inner.delete_account(external_id)

    def grant(self, external_id: str, entitlement: str) -> None:
        self._maybe_fail("grant")
        self.inner.grant(external_id, entitlement)

    def revoke(self, external_id: str, entitlement: str) -> None:
        self._maybe_fail("revoke")
        self.inner.revoke(external_id, entitlement)

    def grant_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        self._maybe_fail("grant_many")
        for external_id in external_ids:
            self.inner.grant(external_id, entitlement)

    def revoke_many(self, entitlement: str, external_ids: Sequence[str]) -> None:
        self._maybe_fail("revoke_many")
        for external_id in external_ids:
            self.inner.revoke(external_id, entitlement)

    def close(self) -> None:
        self.inner.close()
