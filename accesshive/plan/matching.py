"""Matching: which existing account on a source is which identity's.

Why a module of its own: diff (``plan/diff.py``), the diff cache (``cache/diff.py``:
reaches), known accounts (``plan/known_accounts.py``) and the console all match accounts
exactly as a plan does, so the one ``Matcher`` lives here. An account is found by the link
accesshive recorded, then by each correlation attribute in turn (normalised as diff
compares: ``expand/values.py``: ``normalize``), so an account created outside accesshive
is adopted, never duplicated; several equally good matches are duplicates, never a guess.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

from accesshive.config.account_kinds import DEFAULT_KIND, telling_apart
from accesshive.config.model import AttributeSpec, Source
from accesshive.expand.desired import DesiredAccount
from accesshive.expand.values import TEXT_TYPES, normalize
from accesshive.state.snapshot import SnapshotAccount, SourceSnapshot


def matching_order(accounts: list[DesiredAccount]) -> list[DesiredAccount]:
    """The order in which wanted accounts claim existing ones: by link, the accounts of
    kinds other than the default first. Such a kind matches only by the correlation
    attributes that tell it apart (``Matcher.by_kind``), so what it claims is its own;
    the default accounts then match by every correlation attribute among what is left,
    exactly as before any kind was declared (an identity's master badge, which shares
    its mail with the everyday one, is taken by its kind first, never as a duplicate)."""
    accounts.sort(key=_BY_IDENTITY)  # expand gives them in order: a linear sort
    if all(a.kind == DEFAULT_KIND for a in accounts):
        return accounts
    return [a for a in accounts if a.kind != DEFAULT_KIND] + [
        a for a in accounts if a.kind == DEFAULT_KIND
    ]


class Matcher:
    """Finds the existing account of an identity: by link first, then by correlation.

    Only accounts correlation can ever return are indexed by their correlation values:
    the unlinked ones, and those linked to an identity that already has a linked account.
    An identity's (first) linked account is claimed by its link before correlation is
    tried, and no other identity may take it; on a target accesshive manages that is
    nearly every account, so the index stays small and most lookups find nothing.
    """

    def __init__(self, source: Source, snap: SourceSnapshot) -> None:
        self.source = source
        self.accounts = sorted(snap.accounts, key=_BY_EXTERNAL_ID)
        self.claimed: set[str] = set()
        self.by_link: dict[str, SnapshotAccount] = {}
        schema = source.account.schema_
        correlation = [(attr, schema.get(attr)) for attr in source.account.correlation]
        self.by_attr: dict[str, dict[Any, list[SnapshotAccount]]] = {
            attr: {} for attr in source.account.correlation
        }
        by_link = self.by_link
        for acc in self.accounts:
            if acc.identity is not None and by_link.setdefault(acc.identity, acc) is acc:
                continue
            for attr, spec in correlation:
                value = acc.attributes.get(attr)
                if value not in (None, ""):
                    index = self.by_attr[attr]
                    index.setdefault(_key(normalize(value, spec)), []).append(acc)
        # every attribute stays (the first one an identity has a value for decides, even
        # where no account can be found by it); one no account is indexed by is not looked up
        self.correlation = [
            (attr, spec, self.by_attr[attr], _text_fold(spec)) for attr, spec in correlation
        ]
        self.by_kind = {
            kind: [c for c in self.correlation if c[0] in telling]
            for kind, telling in telling_apart(source).items()
            if kind != DEFAULT_KIND
        }
        """Per account kind other than the default, when the source declares kinds: only
        the correlation attributes whose template differs from every other kind's (an
        identity's admin account shares its email with the everyday one; only its uid
        tells them apart). The default account keeps every correlation attribute: declaring
        a kind never changes what an existing account matches (those of the other kinds
        are claimed first, ``matching_order``)."""
        self.indexed = any(self.by_attr.values())
        """Whether any account could be found by correlation at all."""

    def match(
        self, want: DesiredAccount
    ) -> tuple[SnapshotAccount | None, str, list[SnapshotAccount]]:
        """The account, how it matched ("link" or a correlation attribute), and duplicates:
        other unlinked accounts that correlate with the same identity.

        With several equally good matches and no link, there is no account, only
        duplicates: accesshive never guesses which one is the person's.
        """
        iid = want.link
        linked = self.by_link.get(iid)
        if linked is not None:
            if linked.external_id in self.claimed:
                linked = None
            else:
                self.claimed.add(linked.external_id)
        for attr, spec, index, fold in self.by_kind.get(want.kind, self.correlation):
            value = want.attributes.get(attr)
            if value is None or value == "":
                continue
            bucket = _lookup(index, spec, fold, value) if index else None
            found = (
                [
                    acc
                    for acc in bucket
                    if acc.external_id not in self.claimed
                    # an account linked to someone else is never taken
                    and acc.identity in (None, iid)
                ]
                if bucket
                else []
            )
            if found:
                self.claimed.update(acc.external_id for acc in found)
            if linked is not None:
                return linked, "link", found
            if len(found) == 1:
                return found[0], attr, []
            if found:
                return None, attr, found
        return linked, "link" if linked else "", []

    def unclaimed(self) -> Iterator[SnapshotAccount]:
        return (a for a in self.accounts if a.external_id not in self.claimed)

    def reach(self, want: DesiredAccount) -> list[str]:
        """Every account ``match`` could ever take or name as a duplicate for ``want``,
        whatever was claimed before it: the accounts identities can contend for. Two
        groups of identities whose reaches do not meet match independently."""
        iid = want.link
        out: list[str] = []
        for attr, spec, index, fold in self.by_kind.get(want.kind, self.correlation):
            value = want.attributes.get(attr)
            if not index or value is None or value == "":
                continue
            bucket = _lookup(index, spec, fold, value)
            if bucket:
                out.extend(acc.external_id for acc in bucket if acc.identity in (None, iid))
        return out


_BY_EXTERNAL_ID = operator.attrgetter("external_id")
_BY_IDENTITY = operator.attrgetter("link")
"""An account's place among the wanted ones: by link, i.e. by identity, then kind."""


def _lookup(
    index: dict[Any, list[SnapshotAccount]],
    spec: AttributeSpec | None,
    fold: bool | None,
    value: Any,
) -> list[SnapshotAccount] | None:
    """The indexed accounts with this correlation value (normalised as the index is)."""
    if fold is not None and type(value) is str:  # normalize's text case, without its dispatch
        return index.get(" ".join(value.split()).casefold() if fold else value)
    return index.get(_key(normalize(value, spec)))


def _text_fold(spec: AttributeSpec | None) -> bool | None:
    """How ``normalize`` treats a text value of this attribute: True folds case and
    spacing, False keeps it exact, None: not as text (``normalize`` decides)."""
    if spec is None or spec.type in TEXT_TYPES:
        return not (spec is not None and spec.case_exact)
    return None


def _key(value: Any) -> Any:
    """A normalised value as a dict key: text as itself, anything else (a tuple for a
    list, a number) by type and repr, so that no two kinds of value collide."""
    return value if type(value) is str else (type(value).__name__, repr(value))
