"""Value helpers of the ``ldap`` connector: accesshive values ↔ LDAP strings.

Pure functions, no connection: what a written value becomes (``_values``: empty means
no value, booleans are TRUE/FALSE, dates ISO 8601), what a read string becomes under
the declared schema (``_typed``), attribute names looked up case-insensitively
(``_get``), and Active Directory's ``userAccountControl`` disable flag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from accesshive.config.model import AttributeSpec

ACCOUNTDISABLE = 2
NORMAL_ACCOUNT = 512


def _get(attributes: Mapping[str, Any], name: str) -> Any:
    for key, value in attributes.items():
        if key.lower() == name.lower():
            return value
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _values(value: Any) -> list[str]:
    """The LDAP values of an attribute value: empty (None, "", []) means no value."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple | set) else [value]
    return [_text(v) for v in items if v is not None and _text(v) != ""]


def _typed(value: str, spec: AttributeSpec | None) -> Any:
    kind = spec.type if spec is not None else "string"
    if kind == "integer" and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and value.upper() in ("TRUE", "FALSE"):
        return value.upper() == "TRUE"
    return value


def _with_flag(flags: int, disabled: bool) -> int:
    return flags | ACCOUNTDISABLE if disabled else flags & ~ACCOUNTDISABLE
