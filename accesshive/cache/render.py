"""The render cache: rendered account attributes kept between runs, one entry per
identity file. It wraps ``expand/desired.py``: ``expand`` (``expand`` below), whose
``rendered`` argument takes what it recalls.

Why: rendering every account's attribute templates is most of expand's work, and a
pull request touches a few identity files; the accounts of the others render exactly
as last time. An entry's key covers every source (templates, schemas, connection
overlays of the environment), the entry format and the full content of every
identity of the file, so an entry can only ever hold what rendering those exact
inputs gives. Entries live in the cache directory (``store.py``: outside the
repository, read back as plain data only); ``ACCESSHIVE_CACHE_DIR=off`` turns it off.
A file whose identities had a rendering problem is never kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from accesshive.cache import store
from accesshive.cache.contract import Contract
from accesshive.config.config import Config
from accesshive.config.identity_files import identities_digest, identity_files
from accesshive.config.model import Source
from accesshive.diagnostics import Diagnostic
from accesshive.expand.desired import DesiredState
from accesshive.expand.desired import expand as expand_config

FORMAT = 4
"""Bump when rendering or coercion changes what an identity's accounts hold (4: a template
that writes a method, an iterator or a random value is refused, so what a cache of 3
kept of it must be rendered, and refused, again)."""

_SOURCES = TypeAdapter(dict[str, Source])

Attributes = dict[tuple[str, str], dict[str, Any]]
"""(source, link) → the account's rendered attributes (the link names identity and
account kind: ``config/account_kinds.py``)."""


CONTRACT = Contract(
    name="render",
    wraps="expand/desired.py: expand (the attributes of each account, rendered from "
    "its source's templates)",
    key="FORMAT, environment, every source (templates, schemas, connection overlays), "
    "the full content of the file's identities",
    covers="per identity file: the rendered attributes of its identities' accounts, "
    "which expand then does not render again",
    safe="an entry holds exactly what rendering those inputs gives; a file whose "
    "identities had a rendering problem is never kept, and an identity a template was "
    "refused for gets no accounts, so nothing of it is kept and the next run refuses "
    "it again",
    cleared="a changed input is another key; bump FORMAT when rendering or coercion "
    "changes; `accesshive cache prune` removes unused entries",
)


def expand(
    config: Config,
    today: dt.date,
    failed: Callable[[Sequence[Diagnostic]], Collection[str]],
) -> tuple[DesiredState, list[Diagnostic]]:
    """``expand/desired.py``: ``expand``, the accounts of unchanged files from their
    entries. ``failed``: the identities expand's problems are about (their files are
    not kept)."""
    recalled = recall(config)
    desired, problems = expand_config(config, today, recalled.attributes)
    remember(recalled, desired.accounts, failed(problems))
    return desired, problems


@dataclass
class Recalled:
    attributes: Attributes = field(default_factory=dict)
    """What earlier runs rendered, for the files whose inputs have not changed."""
    missing: dict[str, str] = field(default_factory=dict)
    """file → the key its entry is to be kept under, for files rendered afresh."""
    identities: dict[str, list[str]] = field(default_factory=dict)
    """file → its identities."""


def recall(config: Config) -> Recalled:
    """The rendered attributes kept for each identity file whose inputs are unchanged."""
    recalled = Recalled()
    if store.cache_dir() is None:
        return recalled
    sources = hashlib.sha256(_SOURCES.dump_json(dict(sorted(config.sources.items())))).digest()
    for file, iids in sorted(identity_files(config).items()):
        key = _key(config, sources, file)
        recalled.identities[file] = iids
        entry = store.get(key)
        if store.is_miss(entry) or not _valid(entry):
            recalled.missing[file] = key
            continue
        for sid, iid, attributes in entry["accounts"]:
            recalled.attributes[(sid, iid)] = attributes
    return recalled


def remember(
    recalled: Recalled,
    accounts: Mapping[tuple[str, str], Any],
    failed: Collection[str],
) -> None:
    """Keep the attributes just rendered for the files that had no entry; ``failed`` names
    identities with a rendering problem (their files are not kept)."""
    if not recalled.missing:
        return
    broken = set(failed)
    wanted = {iid for file in recalled.missing for iid in recalled.identities[file]}
    by_identity: dict[str, list[list[Any]]] = {}
    for (sid, link), account in accounts.items():
        if account.identity in wanted:
            by_identity.setdefault(account.identity, []).append(
                [sid, link, dict(account.attributes)]
            )
    for file, key in recalled.missing.items():
        iids = recalled.identities[file]
        if broken.intersection(iids):
            continue
        rows = [row for iid in iids for row in by_identity.get(iid, ())]
        store.put(key, {"format": FORMAT, "accounts": rows})


def _key(config: Config, sources: bytes, file: str) -> str:
    digest = hashlib.sha256(b"accesshive render cache\0")
    digest.update(f"{FORMAT}\0{config.environment}\0".encode())
    digest.update(sources)
    digest.update(identities_digest(config, file))
    return digest.hexdigest()


def _valid(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("format") == FORMAT
        and isinstance(entry.get("accounts"), list)
        and all(isinstance(row, list) and len(row) == 3 for row in entry["accounts"])
    )
