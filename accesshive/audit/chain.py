"""The audit log's hash chain: each entry carries the hash of the one before.

Why: an audit trail is only worth something if editing it shows. Editing an
entry changes its hash; removing or reordering entries breaks the chain of
previous hashes; cutting the newest entries off is caught against the anchor
that forwarding keeps (the last entry a SIEM received).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def entry_hash(
    prev: str | None, at: str, actor: str, event: str, subject: str | None, details: str
) -> str:
    """``details`` is the canonical JSON text stored with the entry."""
    return hashlib.sha256(
        "\0".join([prev or "", at, actor, event, subject or "", details]).encode("utf-8")
    ).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
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
    entries: Iterable[AuditEntry], anchors: Mapping[int, str] | None = None
) -> Problem | None:
    """The first bad entry, or None when the whole chain holds."""
    prev: str | None = None
    last_seq = 0
    seen: dict[int, str] = {}
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
            prev, entry.at, entry.actor, entry.event, entry.subject, entry.details
        )
        if entry.hash != expected:
            return Problem(
                entry.seq, f"edited ({entry.event} at {entry.at} does not match its hash)"
            )
        prev, last_seq = entry.hash, entry.seq
        seen[entry.seq] = entry.hash
    for seq, hash_ in sorted((anchors or {}).items()):
        if seen.get(seq) != hash_:
            return Problem(seq, "an entry already sent to the SIEM is missing or different here")
    return None
