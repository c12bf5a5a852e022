"""Distinguished names for the ``ldap`` connector: parsing, escaping and comparing.

Directories hand back member DNs as they were written (``UID=Ada, ou=People,...``),
so DNs are only ever compared in their normalised form: attribute types and values
case-folded, insignificant spaces dropped, escapes decoded and re-applied one way
(RFC 4514). Case-folding values assumes case-insensitive naming attributes (uid, cn,
ou, dc, o), which is what directories use.
"""

from __future__ import annotations

import functools
from string import hexdigits

Rdn = list[tuple[str, str]]
"""One relative DN: its (attribute type, unescaped value) pairs (several with ``+``)."""


class DnError(ValueError):
    """A string that is not a distinguished name."""


def parse_dn(dn: str) -> list[Rdn]:
    """The RDNs of ``dn``, most specific first, with values unescaped."""
    rdns: list[Rdn] = []
    rdn: Rdn = []
    key: str | None = None
    raw = bytearray()
    i = 0
    while i < len(dn):
        char = dn[i]
        if char == "\\":
            pair = dn[i + 1 : i + 3]
            if len(pair) == 2 and all(c in hexdigits for c in pair):
                raw += bytes.fromhex(pair)
                i += 3
                continue
            if i + 1 >= len(dn):
                raise DnError(f"'{dn}' ends with a lone backslash")
            raw += dn[i + 1].encode()
            i += 2
            continue
        if key is None and char == "=":
            key = raw.decode("utf-8", "replace").strip()
            if not key:
                raise DnError(f"'{dn}' has an RDN without an attribute type")
            raw = bytearray()
        elif char in ",;+":
            if key is None:
                raise DnError(f"'{dn}' has an RDN without '='")
            rdn.append((key, raw.decode("utf-8", "replace").strip()))
            key, raw = None, bytearray()
            if char != "+":
                rdns.append(rdn)
                rdn = []
        else:
            raw += char.encode()
        i += 1
    if key is not None:
        rdn.append((key, raw.decode("utf-8", "replace").strip()))
    elif raw.strip() or rdn:
        raise DnError(f"'{dn}' does not end with attribute=value")
    if rdn:
        rdns.append(rdn)
    return rdns


def escape_value(value: str) -> str:
    """An attribute value escaped for use in a DN (RFC 4514, section 2.4)."""
    out = []
    for char in value:
        if char in '\\,+"<>;=':
            out.append("\\" + char)
        elif char == "\x00":
            out.append("\\00")
        else:
            out.append(char)
    text = "".join(out)
    if text.startswith(("#", " ")):
        text = "\\" + text
    if text.endswith(" ") and not text.endswith("\\ "):
        text = text[:-1] + "\\ "
    return text


def rdn_string(attribute: str, value: str) -> str:
    return f"{attribute}={escape_value(value)}"


@functools.lru_cache(maxsize=8192)
def normalize_dn(dn: str) -> str:
    """The form two DNs of the same entry share: ``UID=Ada, ou=People`` → ``uid=ada,ou=people``.

    Cached: the same group, base and member DNs come back in every read."""
    parts = []
    for rdn in parse_dn(dn):
        avas = sorted(
            f"{key.lower()}={escape_value(' '.join(value.split()).casefold())}"
            for key, value in rdn
        )
        parts.append("+".join(avas))
    return ",".join(parts)


def same_dn(a: str, b: str) -> bool:
    return normalize_dn(a) == normalize_dn(b)


def is_within(dn: str, base: str) -> bool:
    """True when ``dn`` lies strictly below ``base``."""
    return normalize_dn(dn).endswith("," + normalize_dn(base))


def split_rdn(dn: str) -> tuple[str, str]:
    """(first RDN, parent DN), both as written: ``uid=a\\,b,ou=x`` → (``uid=a\\,b``, ``ou=x``)."""
    i = 0
    while i < len(dn):
        if dn[i] == "\\":
            i += 2
            continue
        if dn[i] in ",;":
            return dn[:i].strip(), dn[i + 1 :].strip()
        i += 1
    return dn.strip(), ""


def rdn_value(dn: str, attribute: str) -> str | None:
    """The value of ``attribute`` in the first RDN of ``dn`` (None when it is not there)."""
    rdns = parse_dn(dn)
    for key, value in rdns[0] if rdns else []:
        if key.lower() == attribute.lower():
            return value
    return None
