"""The CEF export, read back the way a SIEM reads it (ArcSight CEF rules).

A SIEM splits the header on unescaped ``|``, the extension into ``key=value`` pairs
at unescaped ``=``, and unescapes ``\\|``, ``\\\\``, ``\\=``, ``\\n`` and ``\\r``. Every
field an analyst filters on must come out exactly as the audit log holds it.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from accesshive import __version__
from accesshive.audit.chain import AuditEntry
from accesshive.audit.export import to_cef


def _entry(
    seq: int,
    event: str = "order_state",
    actor: str = "ci",
    subject: str | None = "o1",
    details: str = '{"state":"verified"}',
    hash_: str | None = "ab" * 32,
    at: str = "2026-11-29T10:15:30.250000+00:00",
) -> AuditEntry:
    return AuditEntry("production", seq, at, actor, event, subject, details, None, hash_)


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "r": "\r"}.get(nxt, nxt))
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _split_header(line: str) -> list[str]:
    """The seven header fields and the extension: split on ``|`` not escaped."""
    fields, current, i = [], [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            current.append(line[i : i + 2])
            i += 2
            continue
        if line[i] == "|" and len(fields) < 7:
            fields.append("".join(current))
            current = []
        else:
            current.append(line[i])
        i += 1
    fields.append("".join(current))
    return fields


_KEY = re.compile(r"(?:^| )([A-Za-z0-9]+)=")


def _extension(text: str) -> dict[str, str]:
    """``key=value`` pairs: a key starts at a space before an unescaped ``=``."""
    starts = [m for m in _KEY.finditer(text) if not _escaped(text, m.end() - 1)]
    pairs = {}
    for n, m in enumerate(starts):
        end = starts[n + 1].start() if n + 1 < len(starts) else len(text)
        pairs[m.group(1)] = _unescape(text[m.end() : end])
    return pairs


def _escaped(text: str, at: int) -> bool:
    backslashes = 0
    while at - backslashes - 1 >= 0 and text[at - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _parse(line: str) -> tuple[list[str], dict[str, str]]:
    fields = _split_header(line)
    assert len(fields) == 8, fields
    return [_unescape(f) for f in fields[:7]], _extension(fields[7])


def test_one_line_per_entry_with_every_field_a_siem_reads() -> None:
    entries = [_entry(1), _entry(2, event="vault_reveal", subject=None, hash_=None)]
    text = to_cef(entries)
    assert text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert len(lines) == 2

    header, ext = _parse(lines[0])
    assert header == [
        "CEF:0",
        "accesshive",
        "accesshive",
        __version__,
        "order_state",
        "order state",
        "3",
    ]
    at = dt.datetime(2026, 11, 29, 10, 15, 30, 250000, tzinfo=dt.UTC)
    assert ext == {
        "rt": str(int(at.timestamp() * 1000)),  # epoch milliseconds, as CEF defines rt
        "suser": "ci",
        "act": "order_state",
        "duid": "o1",
        "cn1": "1",
        "cn1Label": "seq",
        "cs1": '{"state":"verified"}',
        "cs1Label": "details",
        "cs2": "ab" * 32,
        "cs2Label": "hash",
    }
    assert ext["rt"] == "1795947330250"

    header, ext = _parse(lines[1])
    assert header[:4] == ["CEF:0", "accesshive", "accesshive", __version__]
    assert header[4:] == ["vault_reveal", "vault reveal", "8"]
    assert ext["duid"] == "" and ext["cs2"] == "" and ext["cn1"] == "2"


def test_severity_follows_what_the_event_is() -> None:
    expected = {
        "vault_reveal": "8",
        "vault_reveal_failed": "8",
        "lock_broken": "7",
        "vault_key_rotated": "6",
        "apply_refused": "6",
        "approval_recorded": "5",
        "task_done": "4",
        "order_state": "3",
        "plan_saved": "3",
    }
    entries = [_entry(n, event=event) for n, event in enumerate(expected, start=1)]
    lines = to_cef(entries).splitlines()
    assert {_parse(line)[0][4]: _parse(line)[0][6] for line in lines} == expected


def test_values_that_look_like_syntax_come_back_unchanged() -> None:
    """An actor or a detail holding ``=``, ``\\``, ``|``, a newline or a carriage return
    neither breaks the line nor forges another field."""
    actor = "mallory act=vault_reveal\\ | x\nCEF:0|forged|line\r"
    details = json.dumps({"note": "a=b\nc\rd \\ e|f"}, sort_keys=True)
    text = to_cef([_entry(7, actor=actor, details=details, subject="x=y")])
    assert text.count("\n") == 1 and "\r" not in text
    _, ext = _parse(text.rstrip("\n"))
    assert ext["suser"] == actor
    assert ext["act"] == "order_state"
    assert ext["cs1"] == details
    assert ext["duid"] == "x=y"
    assert len(ext) == 10


def test_header_fields_escape_pipes_and_backslashes() -> None:
    text = to_cef([_entry(1, event="odd|event\\name")]).rstrip("\n")
    header, ext = _parse(text)
    assert header[4] == "odd|event\\name"
    assert header[5] == "odd|event\\name"
    assert ext["act"] == "odd|event\\name"
    assert header[6] == "3"


def test_no_entries_no_output() -> None:
    assert to_cef([]) == ""
