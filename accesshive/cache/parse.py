"""The parse cache: parsed YAML kept by content hash, so a pull request that touches
one file re-parses one file.

It wraps ``config/yamlio.py``: ``parse_bytes`` (pass ``parse_bytes`` below as its
``parse``). An entry holds the plain data of exactly those bytes, and (in the
``meaning`` scope) its meaning digest; it is written only after the hostile-input
checks passed, since the stage raises before returning anything else.
"""

from __future__ import annotations

import hashlib

from accesshive.cache import store
from accesshive.cache.contract import Contract
from accesshive.config import yamlio
from accesshive.config.meaning import meaning_digest
from accesshive.config.yamlio import ParsedFile

MEANING_SCOPE = "meaning"

CONTRACT = Contract(
    name="parse",
    wraps="config/yamlio.py: parse_bytes",
    key="SHA-256 of the file's bytes (and the store format, in the folder name)",
    covers="the parsed data of every YAML file the loader or a YAML snapshot reads, "
    "and its meaning digest",
    safe="the value is the parse of exactly those bytes; an entry is written only "
    "after the nesting and expansion checks passed, and read back as plain data only",
    cleared="never stale (content-addressed); `accesshive cache prune` removes the "
    "entries no run used lately",
)


def parse_bytes(raw: bytes, name: str) -> ParsedFile:
    """``yamlio.parse_bytes``, from the entry of these bytes when there is one."""
    digest = hashlib.sha256(raw).hexdigest()
    data = store.get(digest)
    if store.is_miss(data):
        parsed = yamlio.parse_bytes(raw, name)
        store.put(digest, parsed.data)
        store.put(digest, parsed.meaning, MEANING_SCOPE)
        return parsed
    meaning = store.get(digest, MEANING_SCOPE)
    if not isinstance(meaning, str):
        meaning = meaning_digest(data)
        store.put(digest, meaning, MEANING_SCOPE)
    return ParsedFile(name=name, digest=digest, data=data, meaning=meaning)
