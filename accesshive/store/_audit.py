"""The audit log's tables: the hash-chained entries (each hashes the one before, for
tamper evidence) and the cursors of the consumers that forward them to a SIEM."""

from __future__ import annotations

import json
from typing import Any

from accesshive.audit.chain import AuditEntry, entry_hash
from accesshive.store._db import Database
from accesshive.store._values import now

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
"""How an entry's details are written (and hashed): one encoder for every entry."""


class AuditLog(Database):
    """The append-only, hash-chained audit log of one environment."""

    def audit(self, actor: str, event: str, subject: str | None, details: dict[str, Any]) -> None:
        """Append to the audit log; each entry hashes the one before (tamper evidence)."""
        self.audit_many(actor, event, [(subject, details)])

    def audit_many(
        self, actor: str, event: str, entries: list[tuple[str | None, dict[str, Any]]]
    ) -> None:
        """Append several entries of one event, chained in order, in one statement: a batch
        of order transitions costs one read of the chain's head, not one per entry."""
        if not entries:
            return
        with self.transaction():
            rows = self._execute(
                "SELECT hash FROM audit WHERE environment = ? ORDER BY seq DESC LIMIT 1",
                (self.environment,),
            )
            prev = rows[0][0] if rows else None
            at = now()
            values = []
            for subject, details in entries:
                body = _CANONICAL.encode(details)
                digest = entry_hash(prev, at, actor, event, subject, body)
                values.append((self.environment, at, actor, event, subject, body, prev, digest))
                prev = digest
            self._executemany(
                "INSERT INTO audit (environment, at, actor, event, subject, details, prev_hash, "
                "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )

    def audit_entries(self, since: str | None = None, after_seq: int = 0) -> list[AuditEntry]:
        sql = (
            "SELECT seq, at, actor, event, subject, details, prev_hash, hash FROM audit "
            "WHERE environment = ? AND seq > ?"
        )
        params: list[Any] = [self.environment, after_seq]
        if since:
            sql += " AND at >= ?"
            params.append(since)
        rows = self._execute(sql + " ORDER BY seq", params)
        return [AuditEntry(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]

    def cursor(self, name: str) -> tuple[int, str | None]:
        """How far an audit consumer got: (last seq, its hash)."""
        rows = self._execute(
            "SELECT seq, hash FROM audit_cursors WHERE environment = ? AND name = ?",
            (self.environment, name),
        )
        return (int(rows[0][0]), rows[0][1]) if rows else (0, None)

    def anchors(self) -> dict[int, str]:
        rows = self._execute(
            "SELECT seq, hash FROM audit_cursors WHERE environment = ? AND hash IS NOT NULL",
            (self.environment,),
        )
        return {int(r[0]): str(r[1]) for r in rows}

    def set_cursor(self, name: str, seq: int, hash_: str | None) -> None:
        with self.transaction():
            self._execute(
                "DELETE FROM audit_cursors WHERE environment = ? AND name = ?",
                (self.environment, name),
            )
            self._execute(
                "INSERT INTO audit_cursors (environment, name, seq, hash, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.environment, name, seq, hash_, now()),
            )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._execute(
            "SELECT seq, at, actor, event, subject, details FROM audit WHERE environment = ? "
            "ORDER BY seq DESC LIMIT ?",
            (self.environment, limit),
        )
        keys = ("seq", "at", "actor", "event", "subject", "details")
        out = [dict(zip(keys, r, strict=True)) for r in rows]
        for entry in out:
            entry["details"] = json.loads(entry["details"])
        return list(reversed(out))
