"""Unique values of pushed resources (``userName``): which they are, and the lookup by one.

Why a module of its own: uniqueness is scim2-server's rule (which attributes are unique,
and that ``userName`` compares case-insensitively), and accesshive keeps those values in
the store's ``idp_unique`` table so that the uniqueness check and the ``userName eq
"..."`` search identity providers make before every create read one row, not every
record. Both go through here, so a search finds exactly what uniqueness refuses.
"""

from __future__ import annotations

import json
from typing import Any

from scim2_models import Resource
from scim2_server.memory import InMemoryStorage

USER_NAME = "urn:ietf:params:scim:schemas:core:2.0:User:userName"

_RULES = InMemoryStorage()
"""scim2-server's in-memory storage, asked only for its rules: which values of a
resource are unique and in what form they compare."""


def _unique_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def unique(resource: Resource[Any]) -> list[tuple[str, str]]:
    """(attribute URN, comparable value) of each unique value the resource holds."""
    values = _RULES._values_of(resource)
    return sorted((urn, _unique_key(value)) for urn, value in values.items())


def equal_to(model: type[Resource[Any]], scim_filter: Any) -> tuple[str, str] | None:
    """(URN, comparable value) when a filter of Users compares one unique attribute to
    a string with ``eq`` (Entra's ``userName eq "..."``); else None (every record is
    read and filtered)."""
    if scim_filter is None:
        return None
    from scim2_models import ScimFilter
    from scim2_models.path import Comparison
    from scim2_server.memory import _equality
    from scim2_server.utils import parametrize

    try:
        typed = parametrize(ScimFilter, model)(str(scim_filter))
        binding = _equality(typed)
        if binding is None or binding.urn != USER_NAME:
            return None
        node = typed.ast
        assert isinstance(node, Comparison)
        return binding.urn, _unique_key(binding.comparable(node.value))
    except Exception:  # a filter this shortcut does not understand: read everything
        return None
