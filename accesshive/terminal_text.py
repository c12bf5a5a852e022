"""Untrusted text on a terminal or in a CI log: one line, each control character shown.

Names, attribute values, a decline's reason, a task's message, who marked a task done:
they come from the configuration, a target or a person's command line, and text output
prints them between accesshive's own lines. A newline in a display name would start a
line of its own (``+ grant wiki-admins`` that no order made), a carriage return would
overwrite the start of the line in a terminal, a right-to-left override (U+202E) would
show the rest of the line backwards. ``shown`` makes each of them visible instead, as
Python would write it in a string (``\\n``, ``\\r``, ``\\x1b``, ``\\u202e``); the Markdown,
HTML and JSON renderings escape in their own way (``render/markup.py``, ``json.dumps``).
A module of its own, outside ``render``: the light commands (``tasks``, ``status``) import
it without the renderers.
"""

from __future__ import annotations

import re

BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidirectional marks (Arabic letter, left-to-right, right-to-left) and embeddings,
overrides and isolates, as a regular-expression character class body: what would show
the rest of a line backwards (``render/markup.py`` hides them in Markdown and HTML)."""

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 (newline, carriage return, tab, escape...), DEL, C1
    "\u2028\u2029"  # the line and paragraph separators
    f"{BIDI}]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: object) -> str:
    """``text`` for a terminal or a log, on one line: every control character,
    line or paragraph separator and bidirectional control escaped (``\\n``, ``\\u202e``);
    everything else, accents and emoji included, as it is."""
    return _UNSAFE.sub(_escaped, str(text))
