"""Every account on a source must have a name of its own: an identity's accounts of two
kinds, and the accounts of two identities.

Why at expand and not only in ``validate``: ``config/validate_kinds.py`` refuses two
kinds whose name templates are the same text, but templates that differ can still
render one name for a given identity (``{{ id }}`` and ``{{ admin_login }}`` where
``admin_login`` is the id). The second account would then be the first one, claimed
twice; it is refused here, at the identity, as any other rendering problem is.

Two identities whose values render one name (two people called Grace Hopper, a
``{{ given_name }}.{{ family_name }}`` login) would both be planned to create that
account: the second create would find the first one's account and could take it over
(correlation on the name), giving one person the other's access. ``one_owner_each``
refuses that at the identities (as every rendering problem, it stops the plan).
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


def one_owner_each(
    config: Config, names: Mapping[tuple[str, str], list[str]], problems: list[Diagnostic]
) -> set[tuple[str, str]]:
    """``names``: (source, name as rendered) → the identities whose accounts there render
    it (casefolded: most targets match names so). Two or more on one name: a diagnostic
    at each but the first (the first named as the other), and the (source, identity) of
    each returned, to be left out of the desired state."""
    clashing: set[tuple[str, str]] = set()
    for (sid, name), iids in sorted(names.items()):
        if len(iids) < 2:
            continue
        first, *others = sorted(iids)
        attr = config.sources[sid].account.name_attribute
        for iid in others:
            problems.append(
                Diagnostic(
                    "ambiguous-account",
                    f"identity '{iid}': its account on source '{sid}' would be named "
                    f"'{name}' ({attr}), as identity '{first}''s is: one account cannot be "
                    "two people's",
                    config.origin("identities", iid),
                    hint=f"give one of them a value that renders another {attr} (or change "
                    f"the source's {attr} template so that it renders a name per identity, "
                    "for example with the identity's id)",
                    related=(config.origin("identities", first),),
                )
            )
        clashing.update((sid, iid) for iid in iids)
    return clashing
