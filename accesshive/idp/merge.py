"""Identity-source records into the config: what providers pushed becomes identities.

Pure. Each pushed user is mapped through its identity source (id, attribute and
role templates; group memberships → roles; ``active: false`` → the leaver
state). YAML wins where both speak: an identity declared in the repository is
never replaced by a record. Each imported identity's origin is ``scim:<source>``,
so plans can say where it came from.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from accesshive.config import Config
from accesshive.config.model import AttributeSpec, Identity, IdentitySource
from accesshive.diagnostics import Diagnostic, Location
from accesshive.errors import ImportProblem
from accesshive.expand.templates import TemplateProblem, render
from accesshive.expand.values import ValueProblem, coerce
from accesshive.imports.records import ImportedIdentity, map_record, typed


class RecordProblem(ValueError):
    """A pushed record whose value cannot be mapped; ``attribute`` names the identity
    attribute it does not fit."""

    def __init__(self, attribute: str, message: str) -> None:
        super().__init__(message)
        self.attribute = attribute


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def template_context(data: dict[str, Any], groups: list[str] | None) -> dict[str, Any]:
    """What an identity source's templates see of a pushed user: the resource as pushed
    (``userName``, ``name.givenName``, ``emails``, ``externalId``, ``title``, ``active``...),
    ``groups`` (its groups' display names, ``;``-separated) and ``enterprise``: the
    enterprise extension (``enterprise.department``, ``enterprise.employeeNumber``,
    ``enterprise.manager.value``), whose URN is no name a template can write."""
    context = dict(data)
    if groups:
        context["groups"] = ";".join(sorted(groups))
    extension = data.get(ENTERPRISE)
    context["enterprise"] = extension if isinstance(extension, dict) else {}
    return context


def check_user(
    source: IdentitySource,
    schema: dict[str, AttributeSpec],
    data: dict[str, Any],
    groups: list[str],
) -> None:
    """Raise ``RecordProblem`` naming the first identity attribute whose value, mapped
    from this pushed user as ``plan`` maps it, does not fit its declared type.

    What a user does not carry yet (a template naming a field it lacks) is not refused:
    SCIM needs little more than a userName, and ``plan`` leaves such a record out with
    a warning until the provider completes it."""
    context = template_context(data, groups)
    for attr, template in sorted(source.attributes.items()):
        spec = schema.get(attr)
        if spec is None:
            continue
        try:
            value = render(template, context)
        except TemplateProblem:
            continue
        if value in ("", None):
            continue
        try:
            coerce(typed(value), spec)
        except ValueProblem as exc:
            raise RecordProblem(
                attr, f"identity attribute '{attr}' (from {template!r}) {exc}"
            ) from exc


def identities_from_records(
    source_id: str, source: IdentitySource, records: list[tuple[str, str, str]]
) -> tuple[list[tuple[str, ImportedIdentity]], list[Diagnostic]]:
    """(record id, identity) for every SCIM user record, and the problems found."""
    users: dict[str, dict[str, Any]] = {}
    member_of: dict[str, list[str]] = {}
    for resource_type, rid, body in records:
        data = json.loads(body)
        if resource_type in ("User", "Row"):  # a pushed user, or a row of an HR export
            users[rid] = data
        elif resource_type == "Group":
            for member in data.get("members", []) or []:
                member_of.setdefault(str(member.get("value")), []).append(
                    str(data.get("displayName"))
                )
    found: list[tuple[str, ImportedIdentity]] = []
    problems: list[Diagnostic] = []
    for rid, data in sorted(users.items()):
        groups = member_of.get(rid)
        context = template_context(data, groups)
        try:
            imported = map_record(source, context)
        except (TemplateProblem, ImportProblem) as exc:
            where = Location(f"{source.kind}:{source_id}", ("Users", rid))
            problems.append(Diagnostic("import", f"record {rid}: {exc}", where))
            continue
        if data.get("active", True) is False:
            imported = replace(imported, lifecycle_state=source.leaver_state)
        found.append((rid, imported))
    return found, problems


def merge_records(
    config: Config, source_id: str, source: IdentitySource, records: list[tuple[str, str, str]]
) -> tuple[Config, list[Diagnostic]]:
    found, problems = identities_from_records(source_id, source, records)
    identities = dict(config.identities)
    origins = dict(config.origins)
    for rid, imported in found:
        if imported.id in config.identities:
            continue  # YAML wins
        identities[imported.id] = Identity(
            type=source.type,
            attributes=imported.attributes,
            lifecycle_state=imported.lifecycle_state,
            roles=imported.roles,
        )
        origins[("identities", imported.id)] = Location(
            f"{source.kind}:{source_id}", ("Users", rid)
        )
    return replace(config, identities=identities, origins=origins), problems
