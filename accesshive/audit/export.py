"""Audit entries as JSON Lines or ArcSight CEF, for SIEM tools."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from accesshive import __version__
from accesshive.audit.chain import AuditEntry

_SEVERITY = {
    "vault_reveal": 8,
    "vault_reveal_failed": 8,
    "lock_broken": 7,
    "vault_key_rotated": 6,
    "apply_refused": 6,
    "approval_recorded": 5,
    "task_done": 4,
}


def to_jsonl(entries: Iterable[AuditEntry]) -> str:
    return "".join(json.dumps(e.to_json(), sort_keys=True) + "\n" for e in entries)


def _header(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _value(text: str) -> str:
    return text.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")


def to_cef(entries: Iterable[AuditEntry]) -> str:
    """``CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|Extension``, one per line."""
    lines = []
    for e in entries:
        at = dt.datetime.fromisoformat(e.at)
        ext = {
            "rt": str(int(at.timestamp() * 1000)),
            "suser": e.actor,
            "act": e.event,
            "duid": e.subject or "",
            "cn1": str(e.seq),
            "cn1Label": "seq",
            "cs1": e.details,
            "cs1Label": "details",
            "cs2": e.hash or "",
            "cs2Label": "hash",
        }
        extension = " ".join(f"{k}={_value(v)}" for k, v in ext.items())
        lines.append(
            f"CEF:0|accesshive|accesshive|{_header(__version__)}|{_header(e.event)}|"
            f"{_header(e.event.replace('_', ' '))}|{_SEVERITY.get(e.event, 3)}|{extension}"
        )
    return "".join(line + "\n" for line in lines)
