"""The ``ascii`` and ``slug`` filters: names folded to what directories accept (Zoë → Zoe,
Bjørn → Bjorn, Straße → Strasse; ``slug``: lowercase ASCII with other characters as
``.``).

Why a module of its own: the jinja environment (``expand/compiling.py``) and the fast path
(``expand/fast_templates.py``) both offer these filters and must fold exactly alike; and
since names, departments and sites repeat across an org, each distinct text is folded
once (``ascii_remembered``, ``slug_remembered``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

# Letters that Unicode does not decompose into a base letter plus an accent.
_TRANSLITERATE = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
        "ı": "i",
        "ħ": "h",
        "Ħ": "H",
        "ŀ": "l",
        "Ŀ": "L",
    }
)


def to_ascii(value: str) -> str:
    """Fold accents away (Zoë → Zoe, Bjørn → Bjorn, Straße → Strasse): directories often
    refuse non-ASCII names."""
    text = str(value).translate(_TRANSLITERATE)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def to_slug(value: str, sep: str = ".") -> str:
    """Lowercase ASCII with runs of other characters replaced by ``sep``."""
    return re.sub(r"[^a-z0-9]+", sep, to_ascii(value).lower()).strip(sep)


# names, departments and sites repeat across an org: each distinct one is folded once
ascii_remembered = lru_cache(maxsize=1 << 16)(to_ascii)
slug_remembered = lru_cache(maxsize=1 << 16)(to_slug)


def or_fold(remembered: Callable[..., str], fold: Callable[..., str]) -> Callable[..., str]:
    """``remembered`` as a jinja filter: anything but text is folded every time."""

    def run(*args: Any) -> str:
        # only text is remembered: 1.0 and True are equal keys that fold differently
        if all(type(arg) is str for arg in args):
            return remembered(*args)
        return fold(*args)

    return run
