"""The fingerprints cache: a snapshot file's fingerprints, kept by the SHA-256 of its
bytes. It wraps ``state/snapshot.py``: ``Snapshot.fingerprints`` (``fingerprints``
below), for ``plan --snapshot FILE``: a large snapshot takes most of a second to
fingerprint, and a pull request's plans read the same file again and again.
"""

from __future__ import annotations

import hashlib

from accesshive.cache import store
from accesshive.cache.contract import Contract
from accesshive.state.snapshot import Snapshot

CONTRACT = Contract(
    name="snapshot fingerprints",
    wraps="state/snapshot.py: Snapshot.fingerprints (of a snapshot file)",
    key="code_digest() (accesshive's own source) and the SHA-256 of the snapshot file",
    covers="per snapshot file: every source's fingerprint",
    safe="fingerprints are a function of the file's content and of the code computing them",
    cleared="a changed file or checkout is another key; `accesshive cache prune` removes "
    "unused entries",
)


def fingerprints(snapshot: Snapshot, content: str) -> dict[str, str]:
    """``snapshot.fingerprints()``, from the entry of the file it was read from
    (``content``: the SHA-256 of its bytes, as ``read_snapshot`` gives it)."""
    key = _key(content)
    entry = store.get(key)
    if isinstance(entry, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in entry.items()
    ):
        return entry
    found = snapshot.fingerprints()
    store.put(key, dict(found))
    return found


def _key(content: str) -> str:
    return hashlib.sha256(
        f"snapshot fingerprints\0{store.code_digest()}\0{content}".encode()
    ).hexdigest()
