"""SCIM schemas, attribute paths and values for the ``scim`` connector: pure helpers.

It owns the schema URNs and models the connector reads with (``MODELS``, ``POLICY``),
how a flat attribute maps to a User path (``Attr``, ``ALIASES``, ``PRIMARY``), reading
a path from a resource and writing one into a JSON document, the PATCH operation for a
value, the comparison that decides whether a value changes, filter literals, resource
URLs and whether ``/Schemas`` publishes a path. No I/O.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import quote

from pydantic import ValidationError
from scim2_models import (
    EnterpriseUser,
    Group,
    GroupMember,
    Path,
    Resource,
    ResourceType,
    Schema,
    SCIMException,
    ScimPolicy,
    User,
)

USER_SCHEMA = str(User.__schema__)
GROUP_SCHEMA = str(Group.__schema__)
ENTERPRISE = str(EnterpriseUser.__schema__)
MODELS = (User, Group, EnterpriseUser)
POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)
"""Targets add vendor attributes and extensions we do not model: read past them."""
STATIC_USER: type[Resource[Any]] = User[EnterpriseUser]

ALIASES = {"email": "emails", "phone": "phoneNumbers"} | {
    name: f"{ENTERPRISE}:{name}"
    for name in ("employeeNumber", "costCenter", "organization", "division", "department")
}
PRIMARY = frozenset({"emails", "phonenumbers"})
"""Multi-valued typed attributes mapped to their primary work value."""
NOT_WRITABLE = frozenset({"id", "meta", "groups", "schemas", "active"})


@dataclass(frozen=True)
class Attr:
    key: str
    """The flat attribute name the source declares."""
    path: str
    """Its SCIM User path."""
    kind: Literal["plain", "primary", "secret"]


def _serves(rt: ResourceType, schema: str) -> bool:
    return str(rt.schema_).lower() == schema.lower()


def _binding(model: type[Resource[Any]], path: str) -> Any:
    try:
        return cast(Any, Path)[model](path).resolve()
    except (ValueError, SCIMException):
        return None


def _get(resource: Resource[Any], path: str) -> Any:
    try:
        return _reader(type(resource), path)(resource)
    except (ValueError, SCIMException):
        return None


@functools.lru_cache(maxsize=1024)
def _reader(model: type[Resource[Any]], path: str) -> Callable[[Resource[Any]], Any]:
    """How to read ``path`` from a ``model``, worked out once: a snapshot reads the same
    few paths of every account, and parsing and resolving them again for each was a
    tenth of reading a source. A plain attribute of the model itself (``userName``,
    ``emails``, in any case) is its field; anything else goes through ``Path.get``."""
    parsed = cast(Any, Path)[model](path)
    if "." not in path and ":" not in path:
        binding = _binding(model, path)
        if binding is not None and binding.model is model and binding.sub_field_name is None:
            field = str(binding.field_name)
            return lambda resource: getattr(resource, field, None)
    return lambda resource: parsed.get(resource, strict=False)


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value)


def _casefolded(user: Resource[Any], path: str) -> str | None:
    base = path.removesuffix(".value")
    value = _get(user, base)
    if isinstance(value, list):
        return next((str(e.value).casefold() for e in value if getattr(e, "value", None)), None)
    return None if value is None else str(value).casefold()


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set ``name.givenName`` or ``urn:...:User:department`` in a SCIM JSON document."""
    target = doc
    if path.lower().startswith("urn:"):
        urn, _, path = path.rpartition(":")
        if urn.lower() != USER_SCHEMA.lower():
            target = doc.setdefault(urn, {})
    *parents, leaf = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value


def _entries(value: Any) -> list[dict[str, Any]]:
    """Values of a multi-valued typed attribute (emails): work, the first primary."""
    values = value if isinstance(value, list) else [value]
    return [
        {"value": str(v), "type": "work", "primary": i == 0}
        for i, v in enumerate(v for v in values if not _empty(v))
    ]


def _operation(attr: Attr, value: Any) -> dict[str, Any]:
    if _empty(value):
        return {"op": "remove", "path": attr.path}
    if attr.kind == "primary":
        return {"op": "replace", "path": attr.path, "value": _entries(value)}
    return {"op": "replace", "path": attr.path, "value": value}


def _same(have: Any, want: Any) -> bool:
    if _empty(have) and _empty(want):
        return True
    if isinstance(have, list) or isinstance(want, list):
        have_list = have if isinstance(have, list) else [have]
        want_list = want if isinstance(want, list) else [want]
        return [str(v) for v in have_list] == [str(v) for v in want_list]
    if isinstance(have, bool) or isinstance(want, bool):
        return have is want
    return have is not None and str(have) == str(want)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _member(member: GroupMember) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": member.value}
    if member.type:
        entry["type"] = member.type
    return entry


def _quote(value: str) -> str:
    """A filter string literal (RFC 7644 §3.4.2.2: JSON string rules)."""
    return json.dumps(value)


def _url(rt: ResourceType, resource_id: str) -> str:
    return f"{rt.endpoint}/{quote(resource_id, safe='')}"


def _extensions(rt: ResourceType) -> str:
    return ", ".join(str(e.schema_) for e in rt.schema_extensions or [])


def _in_schemas(schemas: list[Schema], path: str) -> bool:
    """Whether the target's /Schemas publishes the attribute at ``path``."""
    urn = USER_SCHEMA
    if path.lower().startswith("urn:"):
        urn, _, path = path.rpartition(":")
    schema = next((s for s in schemas if str(s.id).lower() == urn.lower()), None)
    if schema is None:
        return False
    attributes = schema.attributes or []
    for part in path.split("."):
        found = next((a for a in attributes if str(a.name).lower() == part.lower()), None)
        if found is None:
            return False
        attributes = found.sub_attributes or []
    return True


def _first_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
