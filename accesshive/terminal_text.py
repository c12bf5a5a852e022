"""Untrusted text on a terminal or in a CI log: one line, each control character shown.

Names, attribute values, a decline's reason, a task's message, who marked a task done:
they come from the configuration, a target or a person's command line, and text output
prints them between accesshive's own lines. A newline in a display name would start a
line of its own (``+ grant wiki-admins`` that no order made), a carriage return would
overwrite the start of the line in a terminal, a right-to-left override (U+202E) would
show the rest of the line backwards, a zero-width space would make two names that differ
look the same. ``shown`` makes each of them visible instead, as Python would write it in
a string (``\\n``, ``\\r``, ``\\x1b``, ``\\u202e``, ``\\u200b``); the Markdown, HTML and JSON
renderings escape in their own way (``render/markup.py``, ``json.dumps``).
A module of its own, outside ``render``: the light commands (``tasks``, ``status``) import
it without the renderers.
"""

from __future__ import annotations

import re

BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Bidirectional marks (Arabic letter, left-to-right, right-to-left) and embeddings,
overrides and isolates, as a regular-expression character class body: what would show
the rest of a line backwards."""

ZERO_WIDTH = (
    "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200d\u2060-\u2064\u3164"
    "\ufeff\uffa0\U000e0000-\U000e007f"
)
"""Characters that take no room or show nothing: the zero-width space, non-joiner and
joiner, the word joiner and invisible operators, the Mongolian vowel separator, the byte
order mark (zero-width no-break space), the soft hyphen, the combining grapheme joiner,
the Hangul fillers, the Khmer inherent vowels and the tag characters, as a character
class body. Two names that differ only by one of them look the same: ``grace.hopper``
and ``grace\u200b.hopper``."""

UNSEEN = BIDI + ZERO_WIDTH
"""What every rendering makes visible in untrusted text, beside control characters and
line breaks (a character class body): ``shown`` here, ``render/markup.py`` in Markdown
and HTML, ``render/graph.py`` in Mermaid and DOT. One class, so that no rendering shows
what another hides."""

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 (newline, carriage return, tab, escape...), DEL, C1
    "\u2028\u2029"  # the line and paragraph separators
    f"{UNSEEN}]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(text: object) -> str:
    """``text`` for a terminal or a log, on one line: every control character,
    line or paragraph separator, bidirectional control and zero-width character escaped
    (``\\n``, ``\\u202e``, ``\\u200b``);
    everything else, accents and emoji included, as it is."""
    return _UNSAFE.sub(_escaped, str(text))
