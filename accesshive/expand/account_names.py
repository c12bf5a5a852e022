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
from typing import TYPE_CHECKING, Any, TypeVar

from accesshive.config import Config
from accesshive.diagnostics import Diagnostic

if TYPE_CHECKING:
    from accesshive.expand.desired import DesiredAccount

Planned = TypeVar("Planned", bound=Sequence[Any])
"""One planned account of an identity: (source, kind, ...) as ``expand/desired.py``
plans it."""
Owned = TypeVar("Owned", bound="DesiredAccount")
"""An account ``expand`` made (``expand/desired.py`` builds on this module)."""


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
    config: Config, accounts: dict[tuple[str, str], Owned], problems: list[Diagnostic]
) -> dict[tuple[str, str], Owned]:
    """``accounts`` less those whose name on their source (``name_attribute``, casefolded:
    most targets match names so) another identity's account renders too: a diagnostic at
    each identity but the first (which it names). The name a target knows an account by
    is its own; a person's display name on a manual source is not (two people may share
    one), and an account to be gone names none."""
    keyed = {
        sid: spec.account.name_attribute
        for sid, spec in config.sources.items()
        if spec.kind != "manual" and spec.account.name_attribute
    }
    named: dict[tuple[str, str], set[str]] = {}
    for (sid, _), account in accounts.items():
        attr = keyed.get(sid)
        value = account.attributes.get(attr) if attr else None
        if value is not None and account.state != "absent":
            named.setdefault((sid, str(value).casefold()), set()).add(account.identity)
    clashing: set[tuple[str, str]] = set()
    for (sid, name), iids in sorted(named.items()):
        if len(iids) < 2:
            continue
        first, *others = sorted(iids)
        attr = keyed[sid]
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
    if not clashing:
        return accounts
    return {k: a for k, a in accounts.items() if (k[0], a.identity) not in clashing}
