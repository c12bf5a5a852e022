"""The state store: one interface (``Store``), two backends (SQLite, PostgreSQL).

``open_store`` picks the backend from a URL: ``postgresql://…`` for a shared
server, anything else is a SQLite file (default ``.accesshive/<environment>.db``
in the config repository).
"""

from __future__ import annotations

import os
from pathlib import Path

from accesshive.errors import StoreError
from accesshive.repo_paths import link_out_of
from accesshive.store.base import LockInfo, OrderEvent, SnapshotInfo, Store, Task, TokenInfo

DEFAULT_ENVIRONMENT = "default"


def open_store(root: Path, environment: str = DEFAULT_ENVIRONMENT, url: str | None = None) -> Store:
    """Open (creating and migrating as needed) the store of ``environment``.

    ``url`` defaults to the ACCESSHIVE_STORE environment variable, then to the
    SQLite file under the config repository.
    """
    url = url or os.environ.get("ACCESSHIVE_STORE")
    store: Store
    if url and url.startswith(("postgresql://", "postgres://")):
        from accesshive.store.postgres import PostgresStore

        store = PostgresStore(url, environment)
    else:
        from accesshive.store.sqlite import SQLiteStore

        if url:
            path = Path(url.removeprefix("sqlite:///"))
            path = path if path.is_absolute() else root / path
        else:
            path = root / ".accesshive" / f"{environment}.db"
            _refuse_link_out(root, path)
        store = SQLiteStore(path, environment)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


__all__ = [
    "DEFAULT_ENVIRONMENT",
    "LockInfo",
    "OrderEvent",
    "SnapshotInfo",
    "Store",
    "Task",
    "TokenInfo",
    "open_store",
]


def _refuse_link_out(root: Path, path: Path) -> None:
    """The default store lives in the repository's ``.accesshive/``; a link there that
    leads out of it (added by a pull request) would put the store, and the files written
    beside it, wherever it points (``repo_paths``)."""
    found = link_out_of(root, path)
    if found:
        link, real = found
        raise StoreError(
            f"{link} is a symbolic link out of the repository (to {real}): the default "
            "store is kept only inside it; remove the link, or name a store elsewhere "
            "with --store (ACCESSHIVE_STORE)"
        )
