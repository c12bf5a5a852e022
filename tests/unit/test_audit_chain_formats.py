"""The audit log's formats as other tools and older logs see them: the hash of an entry in
both formats (a log written by an earlier release must keep verifying), the order of
sequence numbers, and the JSON Lines export a SIEM ingests."""

from __future__ import annotations

import hashlib
import json

from accesshive.audit.chain import AuditEntry, entry_hash, verify_chain
from accesshive.audit.export import to_jsonl

AT = "2026-11-29T10:00:00+00:00"


def _sha(*fields: str) -> str:
    return hashlib.sha256("\0".join(fields).encode("utf-8")).hexdigest()


def _legacy(seq: int, prev: str | None, subject: str | None, details: str = "{}") -> AuditEntry:
    """An entry as format 1 wrote it: the hash over prev, at, actor, event, subject and
    details only (computed here from that definition, not by the code under test)."""
    digest = _sha(prev or "", AT, "ci", "order_state", subject or "", details)
    return AuditEntry("default", seq, AT, "ci", "order_state", subject, details, prev, digest)


def _current(
    seq: int, prev: str | None, subject: str | None = "o", details: str = "{}"
) -> AuditEntry:
    digest = _sha(
        "v2", "default", str(seq), prev or "", AT, "ci", "order_state", subject or "", details
    )
    return AuditEntry("default", seq, AT, "ci", "order_state", subject, details, prev, digest)


def test_an_entry_hash_covers_every_column_in_a_fixed_layout() -> None:
    assert entry_hash("default", 7, "ab", AT, "ci", "x", "s", '{"a":1}') == _sha(
        "v2", "default", "7", "ab", AT, "ci", "x", "s", '{"a":1}'
    )
    assert entry_hash("default", 1, None, AT, "ci", "x", None, "{}") == _sha(
        "v2", "default", "1", "", AT, "ci", "x", "", "{}"
    )


def test_a_log_begun_in_the_old_format_still_verifies() -> None:
    first = _legacy(1, None, None)
    second = _legacy(2, first.hash, "o2", '{"n":2}')
    third = _current(3, second.hash)
    fourth = _current(4, third.hash, None)
    assert verify_chain([first, second, third, fourth]) is None


def test_an_old_format_entry_after_a_new_one_is_an_edit() -> None:
    first = _current(1, None)
    second = _legacy(2, first.hash, "o2")
    problem = verify_chain([first, second])
    assert problem is not None
    assert str(problem) == f"entry #2: edited (order_state at {AT} does not match its hash)"


def test_an_old_format_entry_with_a_wrong_hash_is_an_edit() -> None:
    first = _legacy(1, None, "o1")
    forged = AuditEntry(
        "default",
        2,
        AT,
        "mallory",
        "order_state",
        "o2",
        "{}",
        first.hash,
        _legacy(2, first.hash, "o2").hash,
    )
    problem = verify_chain([first, forged])
    assert problem is not None and problem.seq == 2 and problem.what.startswith("edited")


def test_a_repeated_or_lower_sequence_number_is_out_of_order() -> None:
    first = _current(1, None)
    second = _current(2, first.hash)
    again = _current(2, second.hash)
    problem = verify_chain([first, second, again])
    assert problem is not None
    assert str(problem) == "entry #2: out of order"
    lower = _current(1, second.hash)
    assert str(verify_chain([first, second, lower])) == "entry #1: out of order"


def test_the_json_lines_export_carries_every_column() -> None:
    entry = _current(5, "ab" * 32, "o5", '{"b":[1,2],"a":"x"}')
    (line,) = to_jsonl([entry]).splitlines()
    assert json.loads(line) == {
        "environment": "default",
        "seq": 5,
        "at": AT,
        "actor": "ci",
        "event": "order_state",
        "subject": "o5",
        "details": {"a": "x", "b": [1, 2]},
        "prev_hash": "ab" * 32,
        "hash": entry.hash,
    }
    assert to_jsonl([entry, entry]) == line + "\n" + line + "\n"
