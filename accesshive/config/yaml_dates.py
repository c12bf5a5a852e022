"""An impossible date in a YAML file (``lifecycle_since: 2026-13-45``), found at its line.

Why: YAML 1.2 reads a plain ``YYYY-MM-DD`` as a date, and ruamel.yaml's constructor
raises a bare ``ValueError`` ("month must be in 1..12") for one that does not exist,
with no position. Reported as it came, the user would not know which of thousands of
values to fix (and it looked like an integer past Python's digit limit, the other
``ValueError`` a constructor raises). The file is composed again (nodes keep their
marks) and the first plain scalar that resolves as a date but is none is named.
"""

from __future__ import annotations

from collections.abc import Iterator

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.util import create_timestamp, timestamp_regexp

from accesshive.diagnostics import Diagnostic, Location

TIMESTAMP = "tag:yaml.org,2002:timestamp"


def impossible_date(text: str, name: str) -> Diagnostic | None:
    """The first value of ``text`` written as a date that is not one, at its line and
    column; None when there is none (the ``ValueError`` came from elsewhere)."""
    try:
        root = YAML(typ="safe", pure=True).compose(text)
    except YAMLError:  # pragma: no cover - the text was parsed already, only built wrong
        return None
    if root is None:
        return None
    for key, node in _scalars(root, ""):
        if node.tag != TIMESTAMP or _is_date(str(node.value)):
            continue
        mark = node.start_mark
        what = f"{key} '{node.value}'" if key else f"'{node.value}'"
        return Diagnostic(
            "wrong-type",
            f"{what} is not a date: write YYYY-MM-DD",
            Location(name, (), mark.line + 1, mark.column + 1),
            hint="a date that exists (months 1-12, days of that month), or quote it if it is text",
        )
    return None


def _is_date(value: str) -> bool:
    match = timestamp_regexp.match(value)
    if match is None:
        return False
    try:
        create_timestamp(**match.groupdict())
    except (ValueError, OverflowError):
        return False
    return True


def _scalars(root: Node, key: str) -> Iterator[tuple[str, ScalarNode]]:
    """Every scalar under ``root`` with the key it is the value of ("" in a list or for
    a key itself), in the file's order; walked with a stack (a file may nest deeply)."""
    stack: list[tuple[str, Node]] = [(key, root)]
    seen: set[int] = set()  # an alias repeats a node: walk it once
    while stack:
        at, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            yield at, node
        elif isinstance(node, SequenceNode):
            stack.extend(("", item) for item in reversed(node.value))
        elif isinstance(node, MappingNode):
            for k, v in reversed(node.value):
                stack.append((str(k.value) if isinstance(k, ScalarNode) else "", v))
                stack.append(("", k))
