"""Identities grouped by the file that declares them, and a digest of each file's
identities: what the caches kept between runs (``cache/render.py``, ``cache/check.py``) are
keyed by.

Why per file: a pull request touches a few identity files; everything derived from
the identities of the others (their rendered attributes, their checks) can be kept.
Why a digest of the identities and not of the file: an environment overlay or an
identity provider's records change identities without changing their file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from accesshive.config.config import Config
from accesshive.diagnostics import Diagnostic


def identity_files(config: Config) -> dict[str, list[str]]:
    """file → the ids of the identities it declares, sorted (``""``: no known file)."""
    found = config.memo.get("identity_files")
    if found is None:
        found = {}
        for iid in sorted(config.identities):
            origin = config.origins.get(("identities", iid))
            found.setdefault(origin.file if origin else "", []).append(iid)
        config.memo["identity_files"] = found
    return found


def identities_digest(config: Config, file: str) -> bytes:
    """SHA-256 over the full content of every identity ``file`` declares (as validated,
    in this environment), in id order."""
    key = ("identities_digest", file)
    found = config.memo.get(key)
    if found is None:
        digest = hashlib.sha256(b"identities\0")
        for iid in identity_files(config).get(file, ()):
            digest.update(iid.encode() + b"\0")
            digest.update(config.identities[iid].model_dump_json().encode() + b"\0")
        found = config.memo[key] = digest.digest()
    return found


def identities_named(diagnostics: Iterable[Diagnostic]) -> set[str]:
    """The identities these diagnostics are about (their locations name them): what a
    cache keyed per identity file must not keep."""
    return {
        str(d.location.path[1])
        for d in diagnostics
        if d.location and len(d.location.path) > 1 and d.location.path[0] == "identities"
    }
