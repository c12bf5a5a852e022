"""Value helpers of the ``google_workspace`` connector: dotted field paths in the API's
JSON, and the ``fields=`` partial-response syntax. Pure functions, no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def _render_fields(tree: Mapping[str, Any]) -> str:
    """{"id": {}, "name": {"givenName": {}}} → "id,name(givenName)"."""
    parts = []
    for key, sub in sorted(tree.items()):
        parts.append(f"{key}({_render_fields(sub)})" if sub else key)
    return ",".join(parts)


def _get_path(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value
