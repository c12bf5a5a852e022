"""Notification deliveries, as a table: which event went to which target, and which
are still to be delivered.

Why in the store: de-duplication must hold across runs and machines (the nightly
report finds the same drift every night; it is told once), and an event that could
not be delivered must outlive the process that found it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from accesshive.redaction import redact_data, redact_optional
from accesshive.store._db import Database
from accesshive.store._values import now


@dataclass(frozen=True)
class Delivery:
    """One event for one target, as the store keeps it."""

    target: str
    event_key: str
    event: str
    state: str
    """``sent`` or ``pending`` (not delivered yet: sent again by the next run)."""
    attempts: int
    payload: dict[str, Any]
    last_error: str | None


class Notifications(Database):
    """Deliveries of notification events, one per (target, event); the plans whose
    orders may be waiting for review."""

    def notification(self, target: str, event_key: str) -> Delivery | None:
        rows = self._execute(
            "SELECT target, event_key, event, state, attempts, payload, last_error "
            "FROM notifications WHERE environment = ? AND target = ? AND event_key = ?",
            (self.environment, target, event_key),
        )
        return _delivery(rows[0]) if rows else None

    def pending_notifications(self) -> list[Delivery]:
        rows = self._execute(
            "SELECT target, event_key, event, state, attempts, payload, last_error "
            "FROM notifications WHERE environment = ? AND state = 'pending' "
            "ORDER BY created_at, target, event_key",
            (self.environment,),
        )
        return [_delivery(r) for r in rows]

    def record_notification(
        self,
        target: str,
        event_key: str,
        event: str,
        payload: dict[str, Any],
        error: str | None,
    ) -> None:
        """One delivery attempt: ``error`` None means the target acknowledged it."""
        state = "pending" if error else "sent"
        payload, error = redact_data(payload), redact_optional(error)  # no secret kept
        with self.transaction():
            rows = self._execute(
                "SELECT attempts FROM notifications WHERE environment = ? AND target = ? "
                "AND event_key = ?",
                (self.environment, target, event_key),
            )
            at = now()
            if rows:
                self._execute(
                    "UPDATE notifications SET state = ?, attempts = ?, sent_at = ?, "
                    "last_error = ? WHERE environment = ? AND target = ? AND event_key = ?",
                    (
                        state,
                        int(rows[0][0]) + 1,
                        None if error else at,
                        error,
                        self.environment,
                        target,
                        event_key,
                    ),
                )
            else:
                self._execute(
                    "INSERT INTO notifications (environment, target, event_key, event, state, "
                    "attempts, payload, created_at, sent_at, last_error) "
                    "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                    (
                        self.environment,
                        target,
                        event_key,
                        event,
                        state,
                        json.dumps(payload, sort_keys=True),
                        at,
                        None if error else at,
                        error,
                    ),
                )

    def plans_for_config(self, config_digest: str) -> list[tuple[str, str]]:
        """(digest, created_at) of this environment's plans made from one configuration:
        the plans whose gated orders can still be waiting for review."""
        rows = self._execute(
            "SELECT digest, created_at FROM plans WHERE environment = ? AND config_digest = ? "
            "ORDER BY created_at, digest",
            (self.environment, config_digest),
        )
        return [(str(r[0]), str(r[1])) for r in rows]


def _delivery(row: tuple[Any, ...]) -> Delivery:
    return Delivery(
        target=str(row[0]),
        event_key=str(row[1]),
        event=str(row[2]),
        state=str(row[3]),
        attempts=int(row[4]),
        payload=json.loads(str(row[5])),
        last_error=None if row[6] is None else str(row[6]),
    )
