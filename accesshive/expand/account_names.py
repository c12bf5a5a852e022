"""An identity's accounts of two kinds on one source must have two names.

Why at expand and not only in ``validate``: ``config/validate_kinds.py`` refuses two
kinds whose name templates are the same text, but templates that differ can still
render one name for a given identity (``{{ id }}`` and ``{{ admin_login }}`` where
``admin_login`` is the id). The second account would then be the first one, claimed
twice; it is refused here, at the identity, as any other rendering problem is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from accesshive.config import Config
from accesshive.diagnostics import Diagnostic

Planned = TypeVar("Planned", bound=Sequence[Any])
"""One planned account of an identity: (source, kind, ...) as ``expand/desired.py``
plans it."""


def one_name_each(
    config: Config,
    iid: str,
    planned: tuple[Planned, ...],
    attributes_of: list[Mapping[str, Any]],
    problems: list[Diagnostic],
) -> tuple[tuple[Planned, ...], list[Mapping[str, Any]]]:
    """An identity's accounts of two kinds on one source must have two names: one whose
    name this identity's values render like an earlier kind's is refused (a diagnostic
    at the identity) and left out, so the one account is never claimed twice."""
    names: dict[tuple[str, str], str] = {}
    kept: list[Planned] = []
    kept_attributes: list[Mapping[str, Any]] = []
    for plan, attributes in zip(planned, attributes_of, strict=True):
        sid, kind = plan[0], plan[1]
        attr = config.sources[sid].account.name_attribute
        value = attributes.get(attr) if attr else None
        if value is not None:
            other = names.setdefault((sid, str(value).casefold()), kind)
            if other != kind:
                problems.append(
                    Diagnostic(
                        "ambiguous-account",
                        f"identity '{iid}': its '{other}' and '{kind}' accounts on source "
                        f"'{sid}' would both be named '{value}' ({attr})",
                        config.origin("identities", iid),
                        hint=f"change the {attr} template of account kind '{kind}' so that "
                        "it renders a name of its own",
                        related=(config.origin("sources", sid, "account", "kinds", kind),),
                    )
                )
                continue
        kept.append(plan)
        kept_attributes.append(attributes)
    return tuple(kept), kept_attributes
