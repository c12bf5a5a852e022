"""Inline secrets in config: found and refused.

Why: a config repository is read by every engineer and every CI log. Secrets
are written only as references (``${env:NAME}``, ``${file:PATH}``,
``${vault:ID}``) that the connector resolves at run time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from accesshive.diagnostics import YamlPath

REFERENCE = re.compile(r"^\$\{(env|file|vault):([^}]+)\}$")
_SECRET_KEY = re.compile(
    r"(^|[_-])(password|passwd|secret|token|api_?key|private_?key|client_?secret|access_?key"
    r"|bearer|key|master_?key|credentials?)$",
    re.IGNORECASE,
)
# user:password@ in a URL (postgresql://app:hunter2@db/...)
_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/:@\s]+:([^@\s]+)@", re.IGNORECASE)
_SECRET_VALUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.")),
)


# Any of the above: one search per string, the patterns one by one only on a hit
# (a large org has hundreds of thousands of attribute values and almost no secrets).
_ANY_SECRET_VALUE = re.compile("|".join(f"(?:{p.pattern})" for _, p in _SECRET_VALUES))


_SHORTEST_SECRET = 14
"""No pattern above matches fewer characters (``xox?-`` and ten more)."""


@functools.lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    """Keys repeat across thousands of entities (email, title...): decided once each."""
    return bool(_SECRET_KEY.search(key))


def is_reference(value: str) -> bool:
    return bool(REFERENCE.match(value.strip()))


def find_inline_secrets(data: Any, path: YamlPath = ()) -> Iterator[tuple[YamlPath, str]]:
    """Yield (path, what it looks like) for every clear-text secret in ``data``.

    Depth first, each mapping's entries taken last first. A node's path is built only
    when it is a collection to walk into or a secret to report: a large org has hundreds
    of thousands of values, and almost no secrets."""
    stack: list[tuple[YamlPath, Any, Any]] = [(path, _ROOT, data)]
    pop, push = stack.pop, stack.append
    while stack:
        parent, step, node = pop()
        if isinstance(node, str):
            url = _URL_PASSWORD.match(node) if "://" in node else None
            if url and not is_reference(url.group(1)):
                yield _at(parent, step), "the URL holds a clear-text password"
                continue
            if len(node) < _SHORTEST_SECRET or not _ANY_SECRET_VALUE.search(node):
                continue
            for what, pattern in _SECRET_VALUES:
                if pattern.search(node):
                    yield _at(parent, step), f"value looks like {what}"
                    break
        elif isinstance(node, dict):
            where = _at(parent, step)
            for key, value in node.items():
                name = str(key)
                secret = isinstance(value, str) and value and _secret_key(name)
                if secret and not is_reference(value):
                    yield (*where, name), f"'{key}' holds a clear-text secret"
                else:
                    push((where, name, value))
        elif isinstance(node, list):
            where = _at(parent, step)
            stack.extend([(where, i, v) for i, v in enumerate(node)])


_ROOT = object()
"""The step to the node the walk starts at: none, its path is the one given."""


def _at(parent: YamlPath, step: Any) -> YamlPath:
    return parent if step is _ROOT else (*parent, step)
