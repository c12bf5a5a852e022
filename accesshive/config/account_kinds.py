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
