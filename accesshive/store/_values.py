"""The frozen values the store hands out (``LockInfo``, ``SnapshotInfo``, ``Task``,
``OrderEvent``) and ``now``, the one clock of every timestamp it writes.

Why apart from ``Store``: the pipeline stages (sync, apply, reports) use these values
and the clock without needing the store's tables."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LockInfo:
    environment: str
    holder: str
    pid: int
    host: str
    since: str
    purpose: str

    def describe(self) -> str:
        return (
            f"locked by {self.holder} (pid {self.pid} on {self.host}) since {self.since} "
            f"for {self.purpose}"
        )


@dataclass(frozen=True)
class SnapshotInfo:
    source: str
    fingerprint: str
    read_at: str
    accounts: int


@dataclass(frozen=True)
class Task:
    id: str
    plan_digest: str
    order_id: str
    source: str
    assignee: str
    description: str
    content: dict[str, Any]
    state: str
    created_at: str
    done_at: str | None = None
    done_by: str | None = None
    reason: str | None = None
    """Why it was cancelled (state ``cancelled``): no apply needs it any more."""


@dataclass(frozen=True)
class OrderEvent:
    """One recorded state of an order (a row of ``order_events``); its ``state`` is an
    ``accesshive.plan.states.OrderState`` value."""

    order_id: str
    state: str
    at: str
    message: str | None
    result: str | None = None


@dataclass(frozen=True)
class TokenInfo:
    """A bearer token of ``scim serve`` as the store keeps it: never the token itself.
    Times are ISO 8601 in UTC, as ``now`` writes them."""

    id: int
    source: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    def state(self, at: dt.datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked`` (revoked wins: it was a decision)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None:
            expires = dt.datetime.fromisoformat(self.expires_at)
            if (at or dt.datetime.now(dt.UTC)) >= expires:
                return "expired"
        return "active"
