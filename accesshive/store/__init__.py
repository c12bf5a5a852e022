"""The state store: one interface (``Store``), two backends (SQLite, PostgreSQL).

``open_store`` picks the backend from a URL: ``postgresql://…`` for a shared
server, ``sqlite:///FILE`` or a plain path for a SQLite file (default
``.accesshive/<environment>.db`` in the config repository). Any other ``scheme://`` is
refused: read as a path it would make a directory named after the URL.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from accesshive.errors import StoreError
from accesshive.repo_paths import link_out_of
from accesshive.store.base import LockInfo, OrderEvent, SnapshotInfo, Store, Task, TokenInfo

DEFAULT_ENVIRONMENT = "default"


def open_store(
    root: Path,
    environment: str = DEFAULT_ENVIRONMENT,
    url: str | None = None,
    create: bool = True,
) -> Store:
    """Open (creating and migrating as needed) the store of ``environment``.

    ``url`` defaults to the ACCESSHIVE_STORE environment variable, then to the
    SQLite file under the config repository. ``create=False`` (the commands that only
    read): a store named by ``url`` that does not exist yet is refused rather than
    created empty, since a mistyped ``--store`` would otherwise report from a new, empty
    store ("everyone pending") and leave the file behind. The default store in the
    repository is still created: it is where ``sync`` would put it.
    """
    url = url or os.environ.get("ACCESSHIVE_STORE")
    if url:
        _refuse_unknown_scheme(url)
    store: Store
    if url and url.startswith(("postgresql://", "postgres://")):
        from accesshive.store.postgres import PostgresStore

        store = PostgresStore(url, environment)
        if not create and not store.has_schema():
            store.close()
            raise missing_store(store.location)
    else:
        from accesshive.store.sqlite import SQLiteStore

        if url:
            path = Path(url.removeprefix("sqlite:///"))
            path = path if path.is_absolute() else root / path
            if not create and not path.is_file():
                raise missing_store(str(path))
        else:
            path = root / ".accesshive" / f"{environment}.db"
            _refuse_link_out(root, path)
        store = SQLiteStore(path, environment)
        store.neighbours = other_stores(root, path)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


def missing_store(location: str) -> StoreError:
    """The one-line refusal of a store that a command only reading would have created."""
    return StoreError(
        f"the store {location} does not exist; check --store (or ACCESSHIVE_STORE, or the "
        "environment's store: in accesshive.yaml), or create it with `accesshive sync` "
        "(apply creates it too)"
    )


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def _refuse_unknown_scheme(url: str) -> None:
    """A URL of a kind accesshive has no backend for (``mysql://``), or a SQLite URL
    without its third slash, is an error, never a relative file path."""
    found = _SCHEME.match(url)
    if found is None or url.startswith(("postgresql://", "postgres://", "sqlite:///")):
        return
    from accesshive.store.postgres import redact

    scheme = found.group(1)
    more = (
        "; a SQLite URL has three slashes: sqlite:///relative.db or sqlite:////absolute.db"
        if scheme.lower() == "sqlite"
        else ""
    )
    raise StoreError(
        f"store {redact(url)}: '{scheme}://' is not a kind of store accesshive knows; give "
        f"postgresql://USER@HOST/DB, sqlite:///FILE or a file path{more}"
    )


__all__ = [
    "DEFAULT_ENVIRONMENT",
    "LockInfo",
    "OrderEvent",
    "SnapshotInfo",
    "Store",
    "Task",
    "TokenInfo",
    "missing_store",
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


def other_stores(root: Path, path: Path) -> tuple[Path, ...]:
    """The SQLite files in the repository's ``.accesshive/`` other than ``path``: where a
    new store finds the policies in force (``nearby_policies_in_force``)."""
    folder = root / ".accesshive"
    if not folder.is_dir():
        return ()
    here = path.resolve()
    return tuple(
        p
        for p in sorted(folder.glob("*.db"))
        if p.is_file() and not p.is_symlink() and p.resolve() != here
    )
