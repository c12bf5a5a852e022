"""YAML 1.2 core on yaml-rs (a Rust parser): the fastest reading of a config file, used
only where it reads exactly as ruamel.yaml does.

Why: parsing is the largest part of a cold plan of a large org, and yaml-rs reads the
identity files of a 10,000-identity org about eight times as fast as libyaml through
PyYAML (``yaml12``). It reads YAML 1.2 core like ruamel.yaml (``yes``/``on`` stay
strings, ``0777`` is 777, ``1_000`` 1000), except for forms found by comparing the two
on generated scalars and documents (``tests/unit/config/test_yaml_fast.py``): a number
starting with ``_`` or an upper-case radix prefix (``0X1F``), a float with an exponent
that ruamel.yaml reads as a string (``.4e0``), a lone ``=``, an empty key, a quoted date
(yaml-rs makes it a date), an empty block scalar, a mapping as a key, an impossible date
(``2024-02-30``), and in a flow collection a ``:`` or ``?`` inside a scalar. A text that
holds any of these, or what this module does not vouch for (a tag, an anchor or alias,
a merge key, a complex key, a block scalar, a backslash escape, a directive, a second
document, the line separators NEL/LS/PS), or whose data holds a float or a time (whose
zone is named otherwise), raises ``Unsure``: the caller reads it with ``yaml12`` and
ruamel.yaml as before, which also give every error its position.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from typing import Any

import yaml_rs

_NEVER = ("!", "<<", "\x85", "\u2028", "\u2029", "|", ">", "\\")
"""A tag, a merge key, NEL/LS/PS (line breaks in YAML 1.1 only), a block scalar (an empty
one reads as "\n" there, "" in ruamel.yaml), an escape: never read here."""
_OPEN_FLOW = (
    re.compile(r"\[(?:[^\]}\n]*(?::(?![ \t])|\?)|[^\]}\n]*$)|\[[ \t]*:", re.MULTILINE),
    re.compile(r"\{(?:[^\]}\n]*(?::(?![ \t])|\?)|[^\]}\n]*$)|\{[ \t]*:", re.MULTILINE),
)
"""In a flow collection: a ":" not followed by a space ("[a:b]", "[a:]"), a "?", an empty
key, or a collection left open at the end of the line; each starts with its literal."""
_EMPTY_KEY = (
    re.compile(r"[ \t]*(?:-[ \t]+)*:(?:[ \t]|$)"),  # matched at the start of the text
    # searched after each line break; possessive (``*+``): giving back a blank can never
    # make ":" match, and backtracking over every line's indentation took a third as long
    # as yaml-rs's parse of the file
    re.compile(r"\n[ \t]*+(?:-[ \t]++)*+:(?=[ \t\n]|$)"),
    re.compile(r",[ \t]*:"),  # after a comma in a flow collection
)
_WHEN = (
    ("%", re.compile(r"^%", re.MULTILINE)),  # a directive
    ("&", re.compile(r"(?:^|[\s\[{,:-])&\S", re.MULTILINE)),  # an anchor
    ("*", re.compile(r"(?:^|[\s\[{,:-])\*\S", re.MULTILINE)),  # an alias
    ("?", re.compile(r"(?:^|[\s\[{,])\?(?:\s|$)", re.MULTILINE)),  # a complex key
    ("=", re.compile(r"=(?:$|[\s,\]}])", re.MULTILINE)),  # "=": ruamel.yaml's value tag
    # a quoted date: yaml-rs reads "2026-03-01" as a date, as if it were not quoted
    ('"', re.compile(r'"(?=[0-9][0-9][0-9][0-9]-[0-9])')),
    ("'", re.compile(r"'(?=[0-9][0-9][0-9][0-9]-[0-9])")),
    ("0", re.compile(r"0[XBO]")),  # "0X1F": a number to yaml-rs, a string to ruamel.yaml
    ("[", _OPEN_FLOW[0]),
    ("{", _OPEN_FLOW[1]),
)
"""(a character, what is unsure where it appears): a pattern is searched for only in a
text that holds its character (a regex over megabytes costs; ``in`` does not)."""
_UNDERSCORE = (
    re.compile(r"_(?<![\w.+\-]_)"),  # "_1": a number to yaml-rs, a string to ruamel.yaml
    re.compile(r"_(?<=[-+.]_)"),  # "+_", "-_1", "._"
)
"""Each starts with the literal "_", which the regex engine finds fast."""
_DOCUMENT_MARK = re.compile(r"^(?:---|\.\.\.)(?:\s|$)", re.MULTILINE)


def _unsure(text: str) -> bool:
    if any(mark in text for mark in _NEVER):
        return True
    if any(char in text and pattern.search(text) for char, pattern in _WHEN):
        return True
    if "_" in text and any(pattern.search(text) for pattern in _UNDERSCORE):
        return True
    if ":" in text and (
        _EMPTY_KEY[0].match(text) or _EMPTY_KEY[1].search(text) or _EMPTY_KEY[2].search(text)
    ):
        return True  # an empty key
    if ("[" in text or "{" in text) and _flow_over_lines(text):
        return True
    body = text[4:] if text.startswith("---\n") else text
    return ("---" in body or "..." in body) and _DOCUMENT_MARK.search(body) is not None


def _flow_over_lines(text: str) -> bool:
    """Whether a flow collection (``[...]``, ``{...}``) goes on past the end of a line:
    the two parsers do not agree on every scalar folded across lines there."""
    for line in text.split("\n"):
        if ("[" in line or "{" in line or "]" in line or "}" in line) and (
            line.count("[") + line.count("{") != line.count("]") + line.count("}")
        ):
            return True
    return False


class Unsure(Exception):
    """Read this text with ``yaml12`` (and ruamel.yaml) instead."""


def load(text: str) -> Any:
    """The one document of ``text`` as plain data, as ruamel.yaml reads it; or ``Unsure``."""
    if _unsure(text):
        raise Unsure
    try:
        data = yaml_rs.loads(text)
    except Exception as exc:  # a syntax error, a repeated key: ruamel.yaml says where
        raise Unsure from exc
    if _doubtful(data):
        raise Unsure
    return data


_TIMESTAMP = re.compile(
    r"[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:.*)?$"
)
"""What ruamel.yaml resolves as a timestamp (loosely): a string of this form means yaml-rs
did not read it as a date (``2024-02-30``) where ruamel.yaml refuses it."""


_KEYS = (str, int, dt.date, type(None))


def _doubtful(data: Any) -> bool:
    """Whether ``data`` holds a float, a time, or a string ruamel.yaml would have read as
    a date, anywhere (keys included): yaml-rs and ruamel.yaml do not agree on every
    float's spelling, a time zone's name or every impossible date, so such a file is read
    the slower way (a plain date, the common case, they read alike)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if node[:1].isdigit() and _TIMESTAMP.match(node):
                return True
        elif isinstance(node, dict):
            if not all(isinstance(k, _KEYS) for k in node):
                return True  # a mapping or a list as a key: ruamel.yaml refuses it
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, float | dt.datetime):  # a time's zone: "Z" is named otherwise
            return True
        elif type(node) is int and _HUGE and not -_HUGE < node < _HUGE:
            return True  # Python cannot write it back as text: ruamel.yaml says where it is
    return False


_HUGE = 10 ** sys.get_int_max_str_digits() if sys.get_int_max_str_digits() else 0
"""The first integer of more digits than Python converts to and from text (``int()``,
``str()``): yaml-rs builds such an integer, which the meaning digest could not then
write; ruamel.yaml refuses it, and ``yamlio`` says at which line."""
