"""The plan cache: the plan made from exactly these inputs, kept by a digest of all of
them, so that planning the same inputs again (a CI job re-run, the plan of a pull
request made again after a push that changed nothing accesshive reads) reads the plan
instead of loading, expanding and diffing a large organisation once more. It wraps
``operations/planning.py``: ``plan_repository``, for the ``plan`` command only
(``operations/plan_command.py``: ``plan_command``).

Why it is safe. Without a store, a plan is a function of the repository's files, the
shipped default policies, the snapshot file, the day, the environment, the options
(``--allow-mass-changes``, ``--author``) and the code that plans: load, expand, diff
and plan read nothing else (ARCHITECTURE.md: they are pure). The key covers every one
of them by content: SHA-256 over every file and directory the loader could read (every
path under the repository not under a name starting with ``.``, which the loader never
reads), each with its bytes, and every symbolic link with where it leads; the default
policies likewise; the snapshot file's bytes; ``code_digest()`` and the versions of
Python and of the libraries that parse, validate and render. With a store the plan also
depends on what the store recorded (pushed identities, orders done, manual tasks), so a
repository with a store is never planned from this cache.

An entry is the plan file's own JSON text, read back by ``plan/planfile.py``:
``from_json``, which rebuilds the plan and refuses one whose content does not match its
``plan_digest``; an entry that does not read back is a miss. A plan made with the cache
is byte-identical to one made without it. Apply never reads this cache: it plans again
through ``plan_repository`` and compares, so a plan taken from a tampered entry would
be refused there as not what the configuration plans.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
from importlib import metadata
from pathlib import Path

from accesshive.cache import store
from accesshive.cache.contract import Contract
from accesshive.config.default_policies import default_policy_dir
from accesshive.errors import PlanFileError
from accesshive.plan.model import Plan
from accesshive.plan.planfile import dumps, from_json

FORMAT = 1

LIBRARIES = ("pydantic", "pydantic-core", "jinja2", "ruamel.yaml", "PyYAML", "yaml-rs")
"""The libraries whose version can change what a plan holds: the YAML parsers, the
validation, the templates."""

CONTRACT = Contract(
    name="plan",
    wraps="operations/planning.py: plan_repository (for the plan command, without a store)",
    key="FORMAT, code_digest(), Python's and the parsing, validating and rendering "
    "libraries' versions, every file, directory and link of the repository the loader "
    "could read (not under a name starting with '.'), the shipped default policies, "
    "the snapshot file's bytes, the day, the environment and the plan options",
    covers="the whole plan: nothing is loaded, expanded or diffed on a hit",
    safe="without a store a plan is a function of exactly those inputs; a repository "
    "with a store is never planned from it; an entry is read back by from_json, which "
    "refuses a plan whose content does not match its plan_digest; apply never reads it",
    cleared="any changed input is another key; `accesshive cache prune` removes unused entries",
)


def key(
    root: Path,
    today: dt.date,
    snapshot_file: Path | None,
    environment: str | None,
    allow_mass_changes: bool,
    author: str | None,
) -> str | None:
    """The key of the plan of these inputs; None when it cannot be told (an input that
    cannot be read: the plan is made, and not kept)."""
    digest = hashlib.sha256(b"accesshive plan cache\0")
    digest.update(f"{FORMAT}\0{store.code_digest()}\0{sys.version}\0".encode())
    for name in LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}={version}\0".encode())
    options = (today.isoformat(), environment or "", str(allow_mass_changes), author or "")
    digest.update(repr(options).encode() + b"\0")
    try:
        digest.update(b"repository\0" + tree_digest(root))
        digest.update(b"default policies\0" + tree_digest(default_policy_dir()))
        if snapshot_file is None:
            digest.update(b"no snapshot file\0")
        else:
            with snapshot_file.open("rb") as fh:
                digest.update(b"snapshot\0" + hashlib.file_digest(fh, "sha256").digest())
    except OSError:
        return None
    return digest.hexdigest()


def tree_digest(root: Path) -> bytes:
    """SHA-256 over every directory and file under ``root`` that is not under a name
    starting with ``.`` (the loader reads none of those): each one's path, a file's
    bytes, and where each symbolic link leads. Links are followed, as the loader's globs
    follow them (a directory reached twice is read once: a link cannot loop)."""
    digest = hashlib.sha256()
    seen: set[str] = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(folder)
        for name in [*dirs, *sorted(f for f in files if not f.startswith("."))]:
            path = here / name
            rel = path.relative_to(root).as_posix().encode()
            if path.is_symlink():
                digest.update(b"link\0" + rel + b"\0" + os.readlink(path).encode() + b"\0")
            if name in dirs:
                digest.update(b"dir\0" + rel + b"\0")
            else:
                data = path.read_bytes() if path.is_file() else b"\1not a file"
                digest.update(b"file\0" + rel + b"\0%d\0" % len(data) + data)
    return digest.digest()


def store_may_exist(root: Path, store_url: str | None) -> bool:
    """Whether the repository may have a store, told without loading anything: a store
    URL given (``--store``, ``ACCESSHIVE_STORE``) or a database under ``.accesshive``.
    An entry is only ever written when ``StoreRef.exists`` said there was none, for the
    same ``accesshive.yaml`` (in the key, with the environment's ``store`` setting), so
    with none of these there is still none."""
    if store_url or os.environ.get("ACCESSHIVE_STORE"):
        return True
    try:
        return any((root / ".accesshive").glob("*.db"))
    except OSError:
        return True


def enabled() -> bool:
    """Whether the caches are on (``ACCESSHIVE_CACHE_DIR`` is not ``off``)."""
    return store.cache_dir() is not None


def recall(found: str) -> Plan | None:
    """The plan kept under this key, or None."""
    entry = store.get_json(found)
    if store.is_miss(entry):
        return None
    try:
        return from_json(entry, "the plan cache's entry")
    except PlanFileError:
        return None


def remember(found: str, plan: Plan, text: str | None = None) -> None:
    """Keep ``plan`` (``text``: its ``dumps``, when the caller has it) under this key."""
    store.put_json(found, (text if text is not None else dumps(plan)).encode("utf-8"))
