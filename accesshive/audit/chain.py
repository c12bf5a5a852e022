"""The audit log's hash chain: each entry carries the hash of the one before.

Why: an audit trail is only worth something if editing it shows. An entry's hash
covers every column of it (its environment and sequence number too), so editing
any of them changes the hash; removing or reordering entries breaks the chain of
previous hashes. Cutting the newest entries off, or rewriting the chain and
recomputing every hash, is caught against the signed checkpoints
(``checkpoints``) and the anchors that forwarding keeps (the last entry a SIEM
received).

Entries written before the hash covered the environment and sequence number
(format 1) still verify, but only as the log's beginning: once an entry of the
current format appears, every later one must be of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def entry_hash(
    environment: str,
    seq: int,
    prev: str | None,
    at: str,
    actor: str,
    event: str,
    subject: str | None,
    details: str,
) -> str:
    """``details`` is the canonical JSON text stored with the entry."""
    fields = ["v2", environment, str(seq), prev or "", at, actor, event, subject or "", details]
    return hashlib.sha256("\0".join(fields).encode("utf-8")).hexdigest()


def legacy_entry_hash(
    prev: str | None, at: str, actor: str, event: str, subject: str | None, details: str
) -> str:
    """Format 1 (before the hash covered the environment and sequence number)."""
    return hashlib.sha256(
        "\0".join([prev or "", at, actor, event, subject or "", details]).encode("utf-8")
    ).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    environment: str
    seq: int
    at: str
    actor: str
    event: str
    subject: str | None
    details: str
    prev_hash: str | None
    hash: str | None

    def to_json(self) -> dict[str, Any]:
        import json

        return {
            "environment": self.environment,
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "event": self.event,
            "subject": self.subject,
            "details": json.loads(self.details),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class Problem:
    seq: int
    what: str

    def __str__(self) -> str:
        return f"entry #{self.seq}: {self.what}"


def verify_chain(
    entries: Iterable[AuditEntry],
    anchors: Mapping[int, str] | None = None,
    after: tuple[int, str | None] = (0, None),
) -> Problem | None:
    """The first bad entry, or None when the whole chain holds. ``after``: (seq, hash)
    of the entry before the first of ``entries`` when they are a stretch of the log,
    not all of it."""
    last_seq, prev = after
    seen: dict[int, str] = {}
    legacy = True  # format 1 entries may only begin the log
    for entry in entries:
        if entry.seq <= last_seq:
            return Problem(entry.seq, "out of order")
        if entry.prev_hash != prev:
            what = (
                "the entry before it was removed or reordered"
                if prev
                else "the first entry was removed"
            )
            return Problem(entry.seq, what)
        expected = entry_hash(
            entry.environment,
            entry.seq,
            prev,
            entry.at,
            entry.actor,
            entry.event,
            entry.subject,
            entry.details,
        )
        if entry.hash == expected:
            legacy = False
        elif not legacy or entry.hash != legacy_entry_hash(
            prev, entry.at, entry.actor, entry.event, entry.subject, entry.details
        ):
            return Problem(
                entry.seq, f"edited ({entry.event} at {entry.at} does not match its hash)"
            )
        prev, last_seq = entry.hash, entry.seq
        seen[entry.seq] = entry.hash
    for seq, hash_ in sorted((anchors or {}).items()):
        if seen.get(seq) != hash_:
            return Problem(seq, "an entry already sent to the SIEM is missing or different here")
    return None
