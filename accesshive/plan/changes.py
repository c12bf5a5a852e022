"""What the diff stage finds: ``Changes`` (the changes, orphans, adoptions and conflicts of
a whole diff), and per source and account what was found (``SourceDiff``, ``Found``).

Why a module of its own: these values are what the plan (``plan/model.py``), the plan
file (``plan/planfile.py``) and the diff cache (``cache/diff_rows.py``) read and keep;
they need the types, not the matching and comparing that make them (``plan/diff.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from accesshive.config.account_kinds import DEFAULT_KIND
from accesshive.plan.orders import Change


@dataclass(frozen=True)
class Orphan:
    source: str
    account: str
    name: str | None
    enabled: bool
    last_login: str | None = None
    identity: str | None = None
    """Set when the account was linked to an identity that no longer exists in config."""


@dataclass(frozen=True)
class Adoption:
    source: str
    identity: str
    account: str
    matched_on: str
    account_kind: str = DEFAULT_KIND
    """Which of the identity's accounts it became (in a plan file only when not default)."""

    def to_json(self) -> dict[str, str]:
        out = vars(self).copy()
        if self.account_kind == DEFAULT_KIND:
            del out["account_kind"]
        return out


@dataclass(frozen=True)
class Changes:
    changes: tuple[Change, ...]
    orphans: tuple[Orphan, ...]
    adoptions: tuple[Adoption, ...]
    conflicts: tuple[str, ...] = ()
    """Accounts accesshive refuses to decide about (several match one identity)."""


Match = tuple[str | None, str, tuple[str, ...]]
"""How an identity's account was matched: its external id (None: no account), what it
matched on ("link", a correlation attribute, or "") and the duplicates' external ids."""


@dataclass(frozen=True)
class Found:
    """What diff found for one identity's account on one source."""

    changes: tuple[Change, ...]
    conflict: str | None
    adoption: Adoption | None
    match: Match


@dataclass(frozen=True)
class SourceDiff:
    """What diff found on one source: per identity, then for the accounts nobody claimed."""

    found: Mapping[str, Found | str]
    """link (the identity id for its default account, ``<identity>#<kind>`` for another
    kind: ``config/account_kinds.py``) → what was found for that account, for every
    account wanted there; just
    the external id for the most common case, an account found by its link with nothing
    to do (a large org has hundreds of thousands: they must cost no object each)."""
    unclaimed: tuple[Change, ...]
    orphans: tuple[Orphan, ...]
