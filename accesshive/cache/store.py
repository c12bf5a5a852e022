"""Where every cache of the layer keeps its entries: one directory outside the
repository, plain data only.

Where: ``ACCESSHIVE_CACHE_DIR``, else ``$XDG_CACHE_HOME/accesshive/parse``, else
``~/.cache/accesshive/parse``; never inside the config repository, where a pull
request could plant an entry. ``ACCESSHIVE_CACHE_DIR=off`` turns every cache off.
Entries are pickles under ``v<FORMAT>/``, written atomically and read back by an
unpickler that accepts plain data and dates only, so an entry can never be code (or
JSON, ``get_json``/``put_json``: for large entries of JSON data, which it reads faster);
an unreadable or foreign entry is a miss, never an error. A *scope* holds entries that
only the latest run of one repository can use, cleared as a whole when they are
replaced. ``usage`` and ``prune`` are what ``accesshive cache info`` / ``cache prune``
show and do. Nothing here knows what an entry means: that is each cache's own module.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import orjson

FORMAT = 1
_ALLOWED = {("datetime", "date"), ("datetime", "datetime")}


class _DataOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def cache_dir() -> Path | None:
    configured = os.environ.get("ACCESSHIVE_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "accesshive" / "parse"


def _folder(scope: str | None = None) -> Path | None:
    """Where this format's entries (of ``scope``, when given) live; None when off."""
    base = cache_dir()
    if base is None:
        return None
    where = base / f"v{FORMAT}"
    return where / "scoped" / scope if scope is not None else where


SUFFIXES = (".pickle", ".json")
"""The kinds of entry: pickles of plain data, and JSON."""


def _entry(digest: str, scope: str | None = None, suffix: str = ".pickle") -> Path | None:
    folder = _folder(scope)
    return folder / digest[:2] / f"{digest}{suffix}" if folder else None


_MISS = object()


def get(digest: str, scope: str | None = None) -> Any:
    """The entry kept under this key (in ``scope``, when given), or ``MISS``."""
    path = _entry(digest, scope)
    if path is None:
        return _MISS
    try:
        raw = path.read_bytes()
    except OSError:
        return _MISS
    try:
        value = _DataOnly(io.BytesIO(raw)).load()
    except Exception:  # a corrupt or foreign entry is a miss, never an error
        return _MISS
    with contextlib.suppress(OSError):  # marks the entry used, for ``prune``
        os.utime(path)
    return value


def put(digest: str, data: Any, scope: str | None = None) -> None:
    path = _entry(digest, scope)
    if path is not None:
        _write(path, lambda tmp: pickle.dump(data, tmp, protocol=pickle.HIGHEST_PROTOCOL))


def get_json(digest: str) -> Any:
    """The JSON entry kept under this key, or ``MISS`` (an unreadable one too)."""
    path = _entry(digest, suffix=".json")
    if path is None:
        return _MISS
    try:
        value = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return _MISS
    with contextlib.suppress(OSError):
        os.utime(path)
    return value


def put_json(digest: str, data: bytes) -> None:
    """Keep ``data``, JSON text, under this key."""
    path = _entry(digest, suffix=".json")
    if path is not None:
        _write(path, lambda tmp: tmp.write(data))


def _write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write an entry atomically: a reader sees the whole entry or none."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            write(tmp)
        os.replace(tmp.name, path)
    except OSError:
        return  # a cache that cannot be written only costs speed


def drop(digest: str, scope: str | None = None) -> None:
    """Remove one entry (an entry no run can use any more), if it is there."""
    for suffix in SUFFIXES:
        path = _entry(digest, scope, suffix)
        if path is not None:
            path.unlink(missing_ok=True)


def clear(scope: str) -> None:
    """Remove every entry of ``scope``: for entries that only the latest run can use,
    so that the directory does not grow with every run."""
    folder = _folder(scope)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


@functools.cache
def code_digest() -> str:
    """SHA-256 of accesshive's own code: what caches of computed results (not of parses)
    key on, so that a new version or a changed checkout never reads an old result."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Usage:
    """What the cache directory holds."""

    location: str
    entries: int
    bytes: int
    removed: int = 0
    """Entries ``prune`` removed (0 for ``usage``)."""
    freed: int = 0


def usage() -> Usage | None:
    """The entries and bytes the cache directory holds; None when the caches are off."""
    base = cache_dir()
    if base is None:
        return None
    entries = [p.stat().st_size for p in _entries(base) if p.is_file()]
    return Usage(str(base), len(entries), sum(entries))


def prune(older_than_days: float, now: float | None = None) -> Usage | None:
    """Remove the entries no run has used for ``older_than_days`` (an entry is marked
    used each time it is read), and every entry of another cache format; what is left
    after. Safe while plans run: a removed entry is only a miss."""
    base = cache_dir()
    if base is None:
        return None
    cutoff = (time.time() if now is None else now) - older_than_days * 86400
    removed = freed = 0
    for path in sorted(_entries(base)):
        with contextlib.suppress(OSError):
            info = path.stat()
            if path.parts[len(base.parts)] != f"v{FORMAT}" or info.st_mtime < cutoff:
                path.unlink()
                removed += 1
                freed += info.st_size
    for folder in sorted(base.glob("v*/**/"), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
    left = usage()
    assert left is not None
    return replace(left, removed=removed, freed=freed)


def _entries(base: Path) -> list[Path]:
    return [p for suffix in SUFFIXES for p in base.glob(f"v*/**/*{suffix}")]


def is_miss(value: Any) -> bool:
    return value is _MISS
