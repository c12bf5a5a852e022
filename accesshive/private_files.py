"""Files only their owner may read: the state store's and the vault's SQLite databases.

Why create the file before SQLite opens it: SQLite creates a missing database with
mode 0644 less the umask (world-readable on most systems), and gives its ``-wal``,
``-shm`` and ``-journal`` files the mode of the database. Creating the file here with
``os.open(..., O_CREAT, 0o600)`` leaves no moment at which it (or its journals) is
readable by anyone else, whatever the umask. A file from an older version with wider
permissions is tightened to 0600 when we own it (a file owned by another user cannot be
chmod-ed by us: its owner chose its mode, and it is left as it is).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

OWNER_ONLY = 0o600
PRIVATE_DIR = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def open_to_others(mode: int) -> bool:
    """Whether a file of this mode can be read or written by its group or by others."""
    return os.name == "posix" and bool(stat.S_IMODE(mode) & 0o077)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) if missing; the directory itself is made 0700.

    An existing directory is left as it is: it may be shared on purpose, and the
    files we keep in it are 0600 on their own."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)


def create_private_file(path: Path) -> None:
    """Make sure ``path`` exists and is readable and writable by its owner only.

    A missing file is created empty with mode 0600 (SQLite then takes it as a new
    database); an existing one we own with wider permissions is tightened to 0600,
    together with SQLite's journal files beside it."""
    make_private_dir(path.parent)
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), OWNER_ONLY)
    try:
        _tighten(fd)
    finally:
        os.close(fd)
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        try:
            fd = os.open(companion, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue  # not there (the usual case): SQLite creates it with the file's mode
        try:
            _tighten(fd)
        finally:
            os.close(fd)


def _tighten(fd: int) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or not open_to_others(info.st_mode):
        return
    if info.st_uid != os.geteuid():
        return  # not ours to change: chmod would fail, and its owner chose its mode
    with contextlib.suppress(OSError):  # a read-only file system: SQLite reports it
        os.fchmod(fd, OWNER_ONLY)
