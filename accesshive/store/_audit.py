"""The audit log's tables: the hash-chained entries (each hashes the one before, for
tamper evidence), the signed checkpoints of the chain's head, and the cursors of the
consumers that forward them to a SIEM.

Every append first checks the log against its latest checkpoint (once per opened
store), then writes the entries and a new checkpoint in the same transaction: a log
cut or rewritten since the last run refuses to grow, so nothing is written on top of
it (``audit verify`` says where it broke)."""

from __future__ import annotations

import json
from typing import Any

from accesshive.audit.chain import AuditEntry, entry_hash, verify_chain
from accesshive.audit.checkpoints import (
    AuditKeys,
    Checkpoint,
    read_witness,
    witness_path,
    write_witness,
)
from accesshive.errors import StoreError
from accesshive.redaction import holds_secret, redact_data
from accesshive.store._db import Database
from accesshive.store._values import now

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
"""How an entry's details are written (and hashed): one encoder for every entry."""


class AuditLog(Database):
    """The append-only, hash-chained audit log of one environment."""

    def audit(self, actor: str, event: str, subject: str | None, details: dict[str, Any]) -> None:
        """Append to the audit log; each entry hashes the one before (tamper evidence)."""
        self.audit_many(actor, event, [(subject, details)])

    _audit_keys: AuditKeys | None = None
    _audit_keys_read = False
    _audit_checked = False

    def audit_keys(self) -> AuditKeys | None:
        """The checkpoint signing keys of this process's environment (read once)."""
        if not self._audit_keys_read:
            self._audit_keys = AuditKeys.from_environment()
            self._audit_keys_read = True
        return self._audit_keys

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
            keys = self.audit_keys()
            if keys is not None and not self._audit_checked:
                self._check_against_checkpoints(keys)
                self._audit_checked = True
            at = now()
            values = []
            for seq, (subject, details) in zip(
                self._next_audit_seqs(len(entries)), entries, strict=True
            ):
                body = _CANONICAL.encode(details)
                if holds_secret(body):  # the last line of defence: no resolved secret kept
                    body = _CANONICAL.encode(redact_data(details))
                digest = entry_hash(self.environment, seq, prev, at, actor, event, subject, body)
                values.append(
                    (seq, self.environment, at, actor, event, subject, body, prev, digest)
                )
                prev = digest
            self._executemany(
                "INSERT INTO audit (seq, environment, at, actor, event, subject, details, "
                "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            if keys is not None:
                self._save_checkpoint(keys.sign(self.environment, values[-1][0], prev or "", at))

    def _next_audit_seqs(self, n: int) -> list[int]:
        """The sequence numbers of the next ``n`` entries. Why chosen before the insert:
        an entry's hash covers its own number. The table is shared by every environment of
        a PostgreSQL store, so there the numbers come from the column's sequence."""
        if getattr(self, "dialect", "") == "postgresql":
            rows = self._execute(
                "SELECT nextval(pg_get_serial_sequence('audit', 'seq')) FROM generate_series(1, ?)",
                (n,),
            )
            return sorted(int(r[0]) for r in rows)
        rows = self._execute("SELECT COALESCE(MAX(seq), 0) FROM audit")
        first = int(rows[0][0]) + 1
        return list(range(first, first + n))

    def _save_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._execute(
            "INSERT INTO audit_checkpoints (environment, seq, hash, at, key_id, signature) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                checkpoint.environment,
                checkpoint.seq,
                checkpoint.hash,
                checkpoint.at,
                checkpoint.key_id,
                checkpoint.signature,
            ),
        )
        path = witness_path()
        if path is not None:
            write_witness(path, checkpoint)

    def checkpoints(self) -> list[Checkpoint]:
        rows = self._execute(
            "SELECT environment, seq, hash, at, key_id, signature FROM audit_checkpoints "
            "WHERE environment = ? ORDER BY seq, id",
            (self.environment,),
        )
        return [Checkpoint(r[0], int(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def witness(self) -> Checkpoint | None:
        """The latest checkpoint kept outside the store (``ACCESSHIVE_AUDIT_WITNESS``)."""
        path = witness_path()
        return read_witness(path, self.environment) if path is not None else None

    def _check_against_checkpoints(self, keys: AuditKeys) -> None:
        """Refuse to append to a log that no longer holds its latest checkpoint (the one
        in the store and the one in the witness file): its tail was cut, or it was
        rewritten and rehashed, since the last run. Only checkpoints of keys in the ring
        count here (a master key rotated out of the ring must not stop every run);
        ``audit verify`` reports the others."""
        known = keys.key_ids
        rows = self._execute(
            "SELECT environment, seq, hash, at, key_id, signature FROM audit_checkpoints "
            f"WHERE environment = ? AND key_id IN ({', '.join('?' * len(known))}) "
            "ORDER BY seq DESC, id DESC LIMIT 1",
            (self.environment, *known),
        )
        latest = [Checkpoint(r[0], int(r[1]), r[2], r[3], r[4], r[5]) for r in rows]
        witness = self.witness()
        for checkpoint in [*latest, *([witness] if witness else [])]:
            why = keys.verify(checkpoint)
            if why is None:
                found = self._execute(
                    "SELECT hash FROM audit WHERE environment = ? AND seq = ?",
                    (self.environment, checkpoint.seq),
                )
                if not found:
                    why = "that entry is missing: the log was cut"
                elif found[0][0] != checkpoint.hash:
                    why = "that entry's hash differs: the log was rewritten and rehashed"
            if why is None and checkpoint in latest:
                why = self._last_stretch_edited(checkpoint.seq)
            if why is not None:
                where = getattr(self, "location", "the store")
                raise StoreError(
                    f"the audit log of '{self.environment}' in {where} does not match its "
                    f"checkpoint #{checkpoint.seq} (signed {checkpoint.at}): {why}. Someone "
                    "who could write the store changed its history; nothing more is written "
                    "on top of it. Run `accesshive audit verify` to see where it breaks."
                )

    def _last_stretch_edited(self, seq: int) -> str | None:
        """What is wrong with the entries the latest checkpoint (at ``seq``) sealed since
        the one before it: an edit in place leaves every stored hash as it was, so only
        hashing the entries again finds it. Bounded by what one run wrote; an edit of an
        older entry is for ``audit verify``, which hashes the whole log."""
        rows = self._execute(
            "SELECT seq FROM audit_checkpoints WHERE environment = ? AND seq < ? "
            "ORDER BY seq DESC LIMIT 1",
            (self.environment, seq),
        )
        since = int(rows[0][0]) if rows else 0
        stretch = [e for e in self.audit_entries(after_seq=max(since - 1, 0)) if e.seq <= seq]
        if not stretch:
            return None
        first = stretch[0]
        problem = verify_chain(stretch, after=(first.seq - 1, first.prev_hash))
        return None if problem is None else f"{problem}: the log was edited in place"

    def audit_details(self, subject: str, events: tuple[str, ...]) -> list[tuple[str, str]]:
        """(event, details JSON) of the entries about ``subject`` among ``events``, oldest
        first: what the log attests about one plan (who made it, from which pull request)."""
        marks = ", ".join("?" for _ in events)
        rows = self._execute(
            f"SELECT event, details FROM audit WHERE environment = ? AND subject = ? "
            f"AND event IN ({marks}) ORDER BY seq",
            (self.environment, subject, *events),
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    def audit_entries(self, since: str | None = None, after_seq: int = 0) -> list[AuditEntry]:
        sql = (
            "SELECT environment, seq, at, actor, event, subject, details, prev_hash, hash "
            "FROM audit WHERE environment = ? AND seq > ?"
        )
        params: list[Any] = [self.environment, after_seq]
        if since:
            sql += " AND at >= ?"
            params.append(since)
        rows = self._execute(sql + " ORDER BY seq", params)
        return [AuditEntry(r[0], int(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows]

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

    def audit_page(self, before: int | None, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` entries older than sequence number ``before`` (None: the
        newest), newest first: one page of the console's audit trail."""
        rows = self._execute(
            "SELECT seq, at, actor, event, subject, details FROM audit WHERE environment = ? "
            "AND seq < ? ORDER BY seq DESC LIMIT ?",
            (self.environment, before if before is not None else 2**62, limit),
        )
        keys = ("seq", "at", "actor", "event", "subject", "details")
        out = [dict(zip(keys, r, strict=True)) for r in rows]
        for entry in out:
            entry["details"] = json.loads(entry["details"])
        return out

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
