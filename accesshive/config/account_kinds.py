"""Account kinds: the named accounts one identity may hold on one source (``default``,
``admin``...), and the *link* that says which identity and kind an account belongs to.

Why a link string and not a second field: connectors already record one value per
account (the identity attribute, ``externalId``) and read it back as
``SnapshotAccount.identity``. The default account's link is the identity id itself, so
every existing target, snapshot, fingerprint and plan stays as it was; another kind's
link is ``<identity>#<kind>``. ``#`` cannot occur in an identity id (``ID_PATTERN``),
so a link always splits back into exactly one (identity, kind).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # model.py imports this module
    from accesshive.config.model import Source

DEFAULT_KIND = "default"
"""The kind of the account every source has implicitly: the one accesshive always managed."""

SEPARATOR = "#"


def account_link(identity: str, kind: str = DEFAULT_KIND) -> str:
    """What a connector records on the account of ``identity`` of this ``kind``."""
    return identity if kind == DEFAULT_KIND else f"{identity}{SEPARATOR}{kind}"


def split_link(link: str) -> tuple[str, str]:
    """(identity, kind) of a recorded link; a plain identity id is the default kind."""
    identity, sep, kind = link.partition(SEPARATOR)
    return (identity, kind) if sep and kind else (identity, DEFAULT_KIND)


def link_identity(link: str | None) -> str | None:
    """The identity part of a recorded link (None stays None)."""
    return None if link is None else split_link(link)[0]


def kind_label(kind: str) -> str:
    """How plans and reports name a kind: nothing for the default, `` (admin)`` otherwise."""
    return "" if kind == DEFAULT_KIND else f" ({kind})"


def telling_apart(source: Source) -> dict[str, frozenset[str]]:
    """account kind → the correlation attributes whose template for that kind is no other
    kind's (spacing aside): the only ones that can find an account of that kind. Empty
    when the source declares no kinds (every correlation attribute counts)."""
    kinds = source.account_kinds
    if len(kinds) == 1:
        return {}
    templates = {k: source.kind_attributes(k) for k in kinds}

    def text(kind: str, attr: str) -> str:
        return "".join(str(templates[kind].get(attr)).split())

    return {
        kind: frozenset(
            attr
            for attr in source.account.correlation
            if all(text(kind, attr) != text(other, attr) for other in kinds if other != kind)
        )
        for kind in kinds
    }


def for_connector(source: Source) -> Source:
    """The source as its connector sees it: with account kinds, a create adopts an
    existing account only by a correlation attribute that tells every kind apart (an
    admin account sharing the everyday one's mail must not be adopted as it)."""
    telling = telling_apart(source)
    if not telling:
        return source
    common = frozenset.intersection(*telling.values())
    correlation = [a for a in source.account.correlation if a in common]
    return source.model_copy(
        update={"account": source.account.model_copy(update={"correlation": correlation})}
    )
