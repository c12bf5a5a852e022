"""Rendered account attributes kept between runs, one entry per identity file.

Why: rendering every account's attribute templates is most of expand's work, and a
pull request touches a few identity files; the accounts of the others render exactly
as last time. An entry's key covers every source (templates, schemas, connection
overlays of the environment), the entry format and the full content of every
identity of the file, so an entry can only ever hold what rendering those exact
inputs gives. Entries live beside the parse cache (``config/cache.py``: outside the
repository, read back as plain data only); ``ACCESSHIVE_CACHE_DIR=off`` turns both
off. A file whose identities had a rendering problem is never kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from accesshive.config import cache
from accesshive.config.config import Config
from accesshive.config.identity_files import identities_digest, identity_files
from accesshive.config.model import Source

FORMAT = 3
"""Bump when rendering or coercion changes what an identity's accounts hold."""

_SOURCES = TypeAdapter(dict[str, Source])

Attributes = dict[tuple[str, str], dict[str, Any]]
"""(source, link) → the account's rendered attributes (the link names identity and
account kind: ``config/account_kinds.py``)."""


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
    if cache.cache_dir() is None:
        return recalled
    sources = hashlib.sha256(_SOURCES.dump_json(dict(sorted(config.sources.items())))).digest()
    for file, iids in sorted(identity_files(config).items()):
        key = _key(config, sources, file)
        recalled.identities[file] = iids
        entry = cache.get(key)
        if cache.is_miss(entry) or not _valid(entry):
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
        cache.put(key, {"format": FORMAT, "accounts": rows})


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
