"""The system a source writes to (its *target*), as a key: what sensitivity and review
rules follow, rather than the source's name.

Why: ``sensitive: true`` and a review rule scoped to ``sources: [wiki]`` are promises
about a system (a database table, a directory, a SCIM application). A second source on
the same system under another name (``wiki-mirror``, the same database without the
flag), or two sources swapping names, would otherwise grant unreviewed what the first
name reviews. Every source on one target is known by all of its names
(``known_as``): an entitlement flagged on one is flagged on each, and a rule that names
one covers each.

The key is made of the settings that pick the system, never of a secret: a URL's user
and password, query and fragment are left out, a host is lower-cased. A setting given as
``${env:...}`` stays the reference (the same reference is the same system). A source
whose settings pick no system (a plugin's connector, a test stand-in) is its own target.

Pure: the connectors keep their own reading of these settings.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from accesshive.config.config import Config
from accesshive.config.model import Source
from accesshive.config.validate_paths import sqlite_path

_PICKED_BY: dict[str, tuple[tuple[str, str], ...]] = {
    # kind → (setting, how it is read): "url", "dn" (case-insensitive), "path", "text"
    "sql": (("url", "url"), ("accounts_table", "lower"), ("grants_table", "lower")),
    "scim": (("base_url", "url"),),
    # the directory server alone: a group is reachable from any base above it, and a DN
    # has many spellings (blanks around "=", a parent base), so every source on one
    # server is one target (a flag on cn=wheel holds for each)
    "ldap": (("url", "url"),),
    "google_workspace": (("customer_id", "text"), ("domain", "lower"), ("base_url", "url")),
    "manual": (("export", "path"),),
    "vault": (("path", "path"),),
}
"""Which settings pick the system, per source kind. Defaults stay absent: two sources
that both leave ``accounts_table`` to its default name the same table."""


def target_of(source_id: str, source: Source, root: Path) -> str:
    """The key of the system ``source`` writes to (see the module's docstring); files
    (a SQLite database, a manual export) are keyed by their real path under ``root``."""
    connection = source.connection
    picked = _PICKED_BY.get(source.kind)
    if picked is None or "connector" in connection:
        return f"source:{source_id}"
    parts = [_read(connection.get(key), how, root) for key, how in picked]
    if not any(parts):
        return f"source:{source_id}"
    return source.kind + ":" + "|".join(parts)


_SCHEMES = {"postgres": "postgresql", "ldaps": "ldaps", "ldap": "ldap"}
_DEFAULT_PORTS = {"postgresql": 5432, "ldap": 389, "ldaps": 636, "https": 443, "http": 80}


def _read(value: Any, how: str, root: Path) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    if text.startswith("${"):
        return text  # a reference: the same reference is the same system
    if how == "lower":
        return ",".join(p.strip() for p in text.lower().split(","))
    if how == "path":
        return _real(text, root)
    sqlite = sqlite_path(text) if how == "url" else None
    if sqlite is not None:  # the file the sql connector opens
        return "sqlite://" + _real(sqlite, root)
    if how == "url" and "://" in text:
        try:
            url = urlsplit(text)
            host, port = (url.hostname or "").lower().rstrip("."), url.port
        except ValueError:
            return text.split("?")[0].split("#")[0]
        scheme = url.scheme.lower().split("+")[0]  # postgresql+psycopg
        scheme = _SCHEMES.get(scheme, scheme)
        where = host + (f":{port}" if port and port != _DEFAULT_PORTS.get(scheme) else "")
        path = posixpath.normpath(unquote(url.path) or "/").rstrip("/")
        return f"{scheme}://{where}{path}"
    return text


def _real(path: str, root: Path) -> str:
    """A file's real path (links followed), relative to the repository when inside it
    (a clone elsewhere, as on each CI run, is the same system): two names for one file
    are one system."""
    real = os.path.realpath(root / path.replace("\\", "/"))
    base = os.path.realpath(root)
    inside = os.path.commonpath([real, base]) == base
    return "./" + os.path.relpath(real, base).replace(os.sep, "/") if inside else real


def targets(config: Config) -> Mapping[str, str]:
    """Source → its target key, for every source of ``config`` (computed once)."""
    found = config.memo.get("targets")
    if found is None:
        found = {sid: target_of(sid, s, config.root) for sid, s in sorted(config.sources.items())}
        config.memo["targets"] = found
    return found


def known_as(config: Config) -> Mapping[str, frozenset[str]]:
    """Source → every source of ``config`` on the same target (itself included)."""
    found = config.memo.get("known_as")
    if found is None:
        found = aliases(targets(config))
        config.memo["known_as"] = found
    return found


def aliases(by_source: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Source → the sources of ``by_source`` that share its target (itself included)."""
    on: dict[str, set[str]] = {}
    for sid, target in by_source.items():
        on.setdefault(target, set()).add(sid)
    return {sid: frozenset(on[target]) for sid, target in by_source.items()}


def group_name(source: Source, entitlement: str) -> str:
    """The name the entitlement's group has on the target: a SCIM source's
    ``group_names`` entry, a managed group's ``name``, else the entitlement id. Two
    entitlements with one group name on one target are one group: what is sensitive
    about one is about the other (``helpers`` mapped onto the ``Admins`` group is
    Admins)."""
    mapped = source.connection.get("group_names")
    if isinstance(mapped, dict) and entitlement in mapped:
        return str(mapped[entitlement])
    spec = source.entitlements.get(entitlement)
    return spec.target_name(entitlement) if spec is not None else entitlement


def called(source: Source, entitlement: str) -> tuple[str, str]:
    """What the entitlement is called by on its target: its id and its group's name
    (``group_name``); sensitivity and classification look at both."""
    return entitlement, group_name(source, entitlement)
