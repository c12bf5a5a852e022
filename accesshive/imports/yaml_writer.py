"""Writing imported identities into the repository's YAML, for a pull request.

ruamel.yaml's round-trip mode keeps comments and the order of what is already
there; new identities are appended in id order, changed fields are replaced in
place, and an identity that disappeared from the source gets the leaver
lifecycle state (never deleted: its accounts must be disabled first). Running
the same import twice writes the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from accesshive.imports.records import ImportedIdentity


@dataclass
class YamlChanges:
    path: Path
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.preserve_quotes = True
    return yaml


def write_identities(
    path: Path,
    source_id: str,
    identities: list[ImportedIdentity],
    leaver_state: str,
    today: dt.date,
    dry_run: bool = False,
) -> YamlChanges:
    yaml = _yaml()
    if path.exists():
        doc = yaml.load(path.read_text(encoding="utf-8")) or CommentedMap()
    else:
        doc = CommentedMap()
        doc.yaml_set_start_comment(
            f"Identities imported from '{source_id}' by `accesshive import`.\n"
            "Edit the source, not this file: the next import rewrites what it owns."
        )
    section = doc.setdefault("identities", CommentedMap())
    changes = YamlChanges(path)
    seen = set()
    for ident in identities:
        seen.add(ident.id)
        wanted = _entry(ident)
        current = section.get(ident.id)
        if current is None:
            changes.added.append(ident.id)
            section[ident.id] = wanted
        elif _update(current, wanted, today):
            changes.changed.append(ident.id)
    for iid in list(section):
        entry = section[iid]
        if iid in seen or not isinstance(entry, dict):
            continue
        if entry.get("lifecycle_state") != leaver_state:
            entry["lifecycle_state"] = leaver_state
            entry["lifecycle_since"] = today
            changes.left.append(iid)
    out = io.StringIO()
    yaml.dump(doc, out)
    text = out.getvalue()
    if dry_run:
        return changes
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return changes


def _entry(ident: ImportedIdentity) -> CommentedMap:
    entry = CommentedMap()
    entry["type"] = ident.type
    entry["lifecycle_state"] = ident.lifecycle_state
    if ident.roles:
        entry["roles"] = list(ident.roles)
    attrs = CommentedMap()
    for key, value in sorted(ident.attributes.items()):
        attrs[key] = value
    entry["attributes"] = attrs
    return entry


def _update(current: Any, wanted: CommentedMap, today: dt.date) -> bool:
    changed = False
    if current.get("lifecycle_state") != wanted["lifecycle_state"]:
        current["lifecycle_state"] = wanted["lifecycle_state"]
        current["lifecycle_since"] = today
        changed = True
    if list(current.get("roles", [])) != list(wanted.get("roles", [])):
        if wanted.get("roles"):
            current["roles"] = wanted["roles"]
        else:
            current.pop("roles", None)
        changed = True
    attrs = current.setdefault("attributes", CommentedMap())
    for key, value in wanted["attributes"].items():
        if attrs.get(key) != value:
            attrs[key] = value
            changed = True
    return changed
