"""Rows: the plain data the diff cache's entries hold for what diff found (changes,
orphans, adoptions, each identity's ``Found``), and back. The store reads back plain data
only (``store.py``), so nothing of diff's own classes is pickled."""

from __future__ import annotations

from typing import Any

from accesshive.plan.changes import Adoption, Found, Orphan, SourceDiff
from accesshive.plan.orders import Change

Unclaimed = dict[str, tuple[list[Any], Any]]
"""external id → (rows of the changes, the orphan row or None), per source: what became
of each account nobody claimed that something became of."""


def unclaimed_rows(result: SourceDiff) -> list[tuple[str, list[Any], Any]]:
    """A source's unclaimed accounts' outcomes, per account (external id order)."""
    changes: dict[str, list[Any]] = {}
    for c in result.unclaimed:
        changes.setdefault(c.account or "", []).append(change_row(c))
    orphans = {o.account: orphan_row(o) for o in result.orphans}
    return [(ext, changes.get(ext, []), orphans.get(ext)) for ext in sorted({*changes, *orphans})]


def source_diff(found: dict[str, Found | str], outcomes: Unclaimed) -> SourceDiff:
    changes: list[Change] = []
    orphans: list[Orphan] = []
    for ext in sorted(outcomes):
        rows, orphan = outcomes[ext]
        changes.extend(change_from(c) for c in rows)
        if orphan is not None:
            orphans.append(Orphan(*orphan))
    return SourceDiff(found, tuple(changes), tuple(orphans))


def change_row(c: Change) -> tuple[Any, ...]:
    return (
        c.action,
        c.source,
        c.identity,
        c.account,
        c.name,
        c.entitlement,
        dict(c.attributes),
        dict(c.details),
        c.sensitive,
    )


def change_from(row: Any) -> Change:
    action, source, identity, account, name, entitlement, attributes, details, sensitive = row
    return Change(
        action, source, identity, account, name, entitlement, attributes, details, sensitive
    )


def orphan_row(o: Orphan) -> tuple[Any, ...]:
    return (o.source, o.account, o.name, o.enabled, o.last_login, o.identity)


def found_row(found: Found) -> tuple[Any, ...]:
    adoption = found.adoption
    return (
        [change_row(c) for c in found.changes],
        found.conflict,
        (
            adoption.source,
            adoption.identity,
            adoption.account,
            adoption.matched_on,
            adoption.account_kind,
        )
        if adoption
        else None,
        found.match,
    )


def found_from(row: Any) -> Found:
    changes, conflict, adoption, match = row
    ext, matched_on, dups = match
    return Found(
        tuple(change_from(c) for c in changes),
        conflict,
        Adoption(*adoption) if adoption else None,
        (ext, matched_on, tuple(dups)),
    )
