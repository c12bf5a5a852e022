"""Identity-source records: a row of an HR export (or a directory user) mapped to an identity.

Pure: the source's templates turn the record's fields into the identity's id,
attributes, lifecycle state and roles. Problems name the row, what is wrong and
what to do, and the whole import is refused (nothing half-imported).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from accesshive.config.model import ID_PATTERN, IdentitySource
from accesshive.errors import ImportProblem
from accesshive.expand.templates import TemplateProblem, render


@dataclass(frozen=True)
class ImportedIdentity:
    id: str
    type: str
    lifecycle_state: str
    attributes: dict[str, Any]
    roles: list[str] = field(default_factory=list)


def read_csv(text: str, name: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ImportProblem(f"{name}: the file has no header row")
    rows = []
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise ImportProblem(f"{name}:{line}: more values than columns")
        rows.append({k.strip(): (v or "").strip() for k, v in row.items()})
    return rows


def map_records(
    source_id: str, source: IdentitySource, rows: list[dict[str, str]], name: str
) -> list[ImportedIdentity]:
    out: dict[str, ImportedIdentity] = {}
    problems: list[str] = []
    for line, row in enumerate(rows, start=2):
        try:
            identity = map_record(source, row)
        except (TemplateProblem, ImportProblem) as exc:
            problems.append(f"{name}:{line}: {exc}")
            continue
        if identity.id in out:
            problems.append(f"{name}:{line}: identity '{identity.id}' appears twice")
            continue
        out[identity.id] = identity
    if problems:
        raise ImportProblem(
            f"{len(problems)} problem(s) importing into '{source_id}'; nothing was changed:\n  "
            + "\n  ".join(problems[:50])
        )
    return [out[k] for k in sorted(out)]


def map_record(source: IdentitySource, row: dict[str, str]) -> ImportedIdentity:
    context: dict[str, Any] = dict(row)
    ident = str(render(source.id, context))
    if not ID_PATTERN.match(ident):
        raise ImportProblem(
            f"'{ident}' is not a valid identity id (from the template {source.id!r})"
        )
    attributes = {}
    for attr, template in sorted(source.attributes.items()):
        value = render(template, context)
        if value not in ("", None):
            attributes[attr] = typed(value)
    groups = [g.strip() for g in row.get("groups", "").split(";") if g.strip()]
    roles = sorted({source.roles[g] for g in groups if g in source.roles})
    state = str(render(source.lifecycle_state, context)) or "active"
    return ImportedIdentity(ident, source.type, state, attributes, roles)


def typed(value: Any) -> Any:
    """Numbers from a CSV are text; give integers back their type (employee numbers)."""
    if isinstance(value, str) and value.isdigit() and not value.startswith("0"):
        return int(value)
    return value
