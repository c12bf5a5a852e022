"""Markdown that says exactly what it is given: the pieces every Markdown renderer shares.

Why a module of its own: the PR comment, the report's issue body and the manual-task
checklist all write values that come from the configuration or a target (names,
entitlements, attribute values, warnings, a decline's reason), and each must escape
them the same way: Markdown punctuation is backslash-escaped, ``<`` and ``&`` cannot
start HTML or an entity, newlines cannot end a table row or a list item, an ``@``
notifies nobody, and inside HTML (``<summary>``) values are HTML-escaped. Tables,
blocks and their size in bytes are here too, so that every block is built one way.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from accesshive.terminal_text import UNSEEN

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$!])")
"""What could start emphasis, code, a link, HTML, an entity, math (GitHub) or end a cell."""
_MENTION = re.compile(r"(?<![\w.+-])@(?=[A-Za-z0-9])")
"""An ``@`` GitHub would read as a mention (``@someone``, ``@org/team``), not the ``@``
of an e-mail address."""
_CONTROL = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{UNSEEN}]")  # C0 but tab, newlines
"""What is shown as �: a right-to-left override would display the rest of a table row
(an order's id, who approved it) backwards in the PR comment, a zero-width space would
make two names that differ look the same (``terminal_text.UNSEEN``: the same class as
text output)."""
_NEWLINE = re.compile("\r\n|\r|\n|\u2028|\u2029")


def _flat(text: object) -> str:
    """One line: a newline becomes ␤, a tab a space, other control characters �."""
    one = _NEWLINE.sub("␤", str(text)).replace("\t", " ")
    return _CONTROL.sub("\ufffd", one)


def visible(value: object) -> object:
    """A template's output with its bidirectional and other control characters shown as
    �, kept HTML-safe when it was (``Markup``): the HTML report's ``finalize``."""
    if not isinstance(value, str):
        return value
    cleaned = _CONTROL.sub("\ufffd", value)
    return type(value)(cleaned) if cleaned != value else value


def md(text: object) -> str:
    """``text`` as literal inline Markdown, safe in a paragraph, list item or table cell;
    an ``@`` that would start a mention becomes ``&#64;``, so that text from identities,
    targets or a decline's reason notifies nobody on GitHub (an e-mail address is no
    mention and stays as it is)."""
    return _MENTION.sub("&#64;", _MD_SPECIAL.sub(r"\\\1", _flat(text)))


def h(text: object) -> str:
    """``text`` as literal HTML text (inside ``<summary>``)."""
    return html.escape(_flat(text), quote=True)


def table(header: list[str], align: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def size(text: str) -> int:
    """What ``text`` takes in UTF-8 bytes (never fewer than its characters)."""
    return len(text.encode("utf-8"))


def join(blocks: list[str]) -> str:
    """Blocks separated by one blank line: no block can run into the next."""
    return "\n".join(b for b in blocks if b)
