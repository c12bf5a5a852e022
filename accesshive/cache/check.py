"""The check cache: identity files whose identities passed the per-identity checks,
kept between runs. It wraps ``config/validate.py``: ``validate`` (``validate`` below).

Why: three checks run once per identity (inline secrets, the declared identity
attributes, the identity type's provisioning flow); on a large org they are most of
``validate``, and a pull request touches a few identity files. Each is a function of
one identity and the configuration around it, so an entry's key covers the entry
format, the environment, the project settings, every source, access profile, role,
lifecycle state and policy, and the full content of every identity of the file. An
entry only says "these identities passed": a file with any diagnostic about one of
its identities is never kept, so a problem is reported again on every run, the same
way. Checks that look across identities (references, owners) always run.
Entries live in the cache directory (``store.py``); ``ACCESSHIVE_CACHE_DIR=off`` turns
it off.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydantic import TypeAdapter

from accesshive.cache import store
from accesshive.cache.contract import Contract
from accesshive.config.config import Config
from accesshive.config.identity_files import (
    identities_digest,
    identities_named,
    identity_files,
)
from accesshive.config.model import AccessProfile, LifecycleState, Role, Source
from accesshive.config.validate import validate as validate_config
from accesshive.diagnostics import Diagnostic

FORMAT = 2
"""Bump when a per-identity check changes what it reports."""

_SURROUNDINGS = (
    TypeAdapter(dict[str, Source]),
    TypeAdapter(dict[str, AccessProfile]),
    TypeAdapter(dict[str, Role]),
    TypeAdapter(dict[str, LifecycleState]),
)


CONTRACT = Contract(
    name="check",
    wraps="config/validate.py: validate (its per-identity checks, PER_IDENTITY)",
    key="FORMAT, environment, project settings, policies, every source, access profile, "
    "role and lifecycle state (`surroundings`), the file name and the full content of "
    "its identities (config/identity_files.py: identities_digest)",
    covers="per identity file: its identities passed the per-identity checks, which then skip them",
    safe="an entry only says the identities passed; a file with any diagnostic about "
    "one of its identities is never kept; cross-identity checks always run",
    cleared="a changed input is another key; bump FORMAT when a per-identity check "
    "changes what it reports; `accesshive cache prune` removes unused entries",
)


def validate(config: Config, earlier: Sequence[Diagnostic] = ()) -> list[Diagnostic]:
    """``config/validate.py``: ``validate``, the identities of unchanged files passed by
    their entries. ``earlier``: problems found before the checks (environment overlays):
    a file whose identities they name is not kept either."""
    checked = recall(config)
    found = validate_config(config, checked.passed)
    remember(config, checked, [*earlier, *found])
    return found


@dataclass
class Checked:
    passed: frozenset[str] = frozenset()
    """Identities of files whose entry says they passed: their checks need not run."""
    missing: dict[str, str] = field(default_factory=dict)
    """file → the key its entry is to be kept under, for files checked afresh."""


def recall(config: Config) -> Checked:
    """The identities of every file whose entry says they passed, unchanged since."""
    if store.cache_dir() is None:
        return Checked()
    around = surroundings(config)
    passed: list[str] = []
    missing: dict[str, str] = {}
    for file, iids in sorted(identity_files(config).items()):
        key = _key(around, config, file)
        entry = store.get(key)
        if isinstance(entry, dict) and entry.get("format") == FORMAT and entry.get("passed"):
            passed.extend(iids)
        else:
            missing[file] = key
    return Checked(frozenset(passed), missing)


def remember(config: Config, checked: Checked, diagnostics: Iterable[Diagnostic]) -> None:
    """Keep an entry for each file checked afresh that no diagnostic names."""
    if not checked.missing:
        return
    named = identities_named(diagnostics)
    files = identity_files(config)
    for file, key in checked.missing.items():
        if file and not named.intersection(files.get(file, ())):
            store.put(key, {"format": FORMAT, "passed": True})


def surroundings(config: Config) -> bytes:
    """A digest of everything a per-identity result may depend on besides the identity:
    the project settings, sources, profiles, roles, lifecycle states, policies and the
    environment (the diff cache keys on it too)."""
    digest = hashlib.sha256(b"accesshive check cache\0")
    digest.update(f"{FORMAT}\0{config.environment}\0".encode())
    digest.update(config.project.model_dump_json().encode() + b"\0")
    digest.update(config.policies.model_dump_json().encode() + b"\0")
    collections = (config.sources, config.access_profiles, config.roles, config.lifecycle_states)
    for adapter, items in zip(_SURROUNDINGS, collections, strict=True):
        digest.update(adapter.dump_json(dict(sorted(items.items()))) + b"\0")  # type: ignore[attr-defined]
    return digest.digest()


def _key(around: bytes, config: Config, file: str) -> str:
    digest = hashlib.sha256(around)
    digest.update(file.encode() + b"\0")
    digest.update(identities_digest(config, file))
    return digest.hexdigest()
