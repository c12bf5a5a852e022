"""The console's one cached computation: the ``Overview`` (every identity's status, health
and the plan behind them), kept while nothing it is made of changes.

Making it plans the whole repository against the latest snapshot: seconds at 10,000
identities, far too slow for every page view. It depends only on the repository's files,
on what the store records and on the day, so it is kept under a key of those three: the
SHA-256 of the repository's files (not the store's directory ``.accesshive``, nor
``.git``), the store's marker (the latest audit entry's sequence number: every sync, run,
order state and pushed identity moves it) and the day. A page served after a commit, a
sync or an apply step computes it afresh; every other page view reads it. Concurrent
requests for a stale key wait for one computation instead of each making their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from pathlib import Path

from accesshive.console.views import Overview, marker, overview
from accesshive.operations import StoreRef

SKIPPED = frozenset({".accesshive", ".git"})
"""Directories of a repository that are not its content: the store and git's own."""


def repository_digest(root: Path) -> str:
    """SHA-256 of every file of the repository (its path and bytes), in path order."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
        for name in sorted(files):
            path = Path(folder, name)
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"\1unreadable")
            digest.update(b"\0")
    return digest.hexdigest()


class Overviews:
    """The latest ``Overview`` of one console and the key it was made under."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, str, dt.date] | None = None
        self._value: Overview | None = None
        self.computed = 0
        """How many times it was made (the tests count it)."""

    def get(self, root: Path, store: StoreRef, today: dt.date) -> Overview:
        key = (repository_digest(root), marker(root, store), today)
        with self._lock:
            if self._value is None or self._key != key:
                self._value = overview(root, store, today)
                self._key = key
                self.computed += 1
            return self._value
