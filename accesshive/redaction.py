"""Secrets kept out of every text accesshive shows or keeps: one registry, one ``redact``.

Why here, once: a target may echo what it was sent (a gateway's 503 naming the bearer
token, a driver's error quoting its connection URL), and that text flows into apply's
output, order events, the audit log, notifications and reports. No connector can be
trusted to scrub its own target's words, so the values are registered where they are
resolved (``connectors/references.py``: ``resolve``; an OAuth access token where it is
fetched) and ``redact`` is called where a target's text enters accesshive
(``ConnectorError``, ``apply/outage.py``: ``target_failure``), where the executor records
an order's state, and by the store before it writes a message, an audit entry or a
notification (the last line of defence).

A registered value is replaced by ``[redacted: <reference>]`` (``[redacted:
${env:APP_TOKEN}]``): the reference is in the configuration already, and it tells the
reader which secret the target echoed. Replaced too: the forms a value travels in
(percent-encoded, in either case of hex and with ``+`` for spaces; JSON- and
repr-escaped; inside a base64 text such as an HTTP Basic ``user:secret`` header, at any
of the three byte alignments), and the password of a URL that carries one.

Values shorter than ``MIN_LENGTH`` characters are not redacted: replacing every "a", "on"
or "503" in every message would make each one unreadable while hiding nothing (a secret
of three characters or fewer is found by trying at most a million values)."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

MIN_LENGTH = 4
"""The shortest value that is redacted (see the module's docstring for why)."""

_SECRET_FIELD = re.compile(
    r"(^|[_-])(password|passwd|secret|token|api_?key|private_?key(_id)?|client_?secret)$",
    re.IGNORECASE,
)
"""Fields of a JSON secret (a service account key) whose values are secrets themselves."""

_lock = threading.Lock()
_names: dict[str, str] = {}
"""Every form of every registered value → the reference it was resolved from."""
_pattern: re.Pattern[str] | None = None
"""All forms at once, as a prefix tree (``_alternation``)."""


def register(value: Any, name: str) -> None:
    """Redact ``value`` (and its forms) from now on, naming it ``name`` (its reference)."""
    global _pattern
    if not isinstance(value, str):
        return
    forms = {form for secret in _secrets_in(value) for form in forms_of(secret)}
    with _lock:
        new = {form: name for form in forms if form not in _names}
        if not new:
            return
        _names.update(new)
        _pattern = re.compile(_alternation(_names))


def redact(text: str) -> str:
    """``text`` with every registered secret (in any of its forms) replaced."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(lambda m: f"[redacted: {_names.get(m.group(0), 'a secret')}]", text)


def holds_secret(text: str) -> bool:
    """Whether ``text`` holds a registered secret in any of its forms (one search: what a
    caller with structured data checks on its encoded text before redacting each part)."""
    pattern = _pattern
    return pattern is not None and pattern.search(text) is not None


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)


def redact_data(data: Any) -> Any:
    """``data`` (JSON-like: mappings, lists, strings) with every string redacted."""
    if _pattern is None:
        return data
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact_data(k): redact_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(v) for v in data]
    return data


def forget() -> None:
    """Forget every registered value (a test's process runs many configurations)."""
    global _pattern
    with _lock:
        _names.clear()
        _pattern = None


def _secrets_in(value: str) -> Iterable[str]:
    """The value, the password of a URL, and the secret fields of a JSON key."""
    text = value.strip()
    found = [text]
    if "://" in text:
        try:
            password = urlsplit(text).password
        except ValueError:
            password = None
        if password:
            found += [password, unquote(password)]
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            found += [
                str(v).strip()
                for k, v in data.items()
                if isinstance(v, str) and _SECRET_FIELD.search(str(k))
            ]
    return [s for s in found if len(s) >= MIN_LENGTH]


def forms_of(secret: str) -> set[str]:
    """The texts ``secret`` may appear as in a target's words."""
    # as it is, escaped, case-folded (a target that upper-cases what it quotes), in hex
    forms = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], secret.upper(), secret.lower()}
    forms |= {secret.encode().hex(), secret.encode().hex().upper()}
    for encoded in (quote(secret, safe=""), quote(secret), quote_plus(secret)):
        forms |= {encoded, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)}
    raw = secret.encode()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            core = _aligned_core(encode, raw, shift)
            if len(core) >= MIN_LENGTH:
                forms.add(core)
    return {form for form in forms if len(form) >= MIN_LENGTH}


def _aligned_core(encode: Callable[[bytes], bytes], raw: bytes, shift: int) -> str:
    """The base64 characters that depend on ``raw`` alone when it starts ``shift`` bytes
    into a 3-byte group: what any base64 text holding ``raw`` at that alignment contains
    (``user:secret`` in a Basic header holds the secret at the user's length mod 3)."""
    text = encode(b"\0" * shift + raw).decode().rstrip("=")
    start_bit, end_bit = 8 * shift, 8 * (shift + len(raw))
    first = -(-start_bit // 6)  # the first character whose 6 bits start inside raw
    last = end_bit // 6  # one past the last character whose 6 bits end inside raw
    return text[first:last]


_END = ""
"""The key of a prefix tree's node that marks a form ending there."""


def _alternation(forms: Iterable[str]) -> str:
    """One regular expression matching any of ``forms``, longest first (so a form is
    replaced whole, never a part of it), written as a prefix tree: each message is
    searched once per redaction, and a tree tests a character once where a flat
    alternation tests it against every form (twice as fast with a dozen secrets)."""
    tree: dict[str, Any] = {}
    for form in forms:
        node = tree
        for char in form:
            node = node.setdefault(char, {})
        node[_END] = {}
    return _node(tree)


def _node(node: dict[str, Any]) -> str:
    branches = []
    for char, child in sorted(node.items()):
        if char == _END:
            continue
        run = [char]
        while len(child) == 1 and _END not in child:  # a chain: one literal, no nesting
            ((char, child),) = child.items()
            run.append(char)
        branches.append(re.escape("".join(run)) + _node(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if _END in node else body
