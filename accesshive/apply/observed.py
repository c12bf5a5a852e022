"""What apply saw of the accounts it wrote: the snapshot after a run, without reading the
whole source again.

Why: after a run apply stores a fresh snapshot of every source it changed, so that the
next plan starts from the truth. Reading 3,000 LDAP accounts back whole after creating
them cost a quarter of apply's time, yet apply has just read the source whole (the stale
check, before the first write) and read back every account it wrote, after writing it
(verification: the entry a create returned, or one search per batch). The snapshot
after the run is that first read with every account apply wrote replaced by its latest
read-back: an account's latest read follows every write apply made to it (each write is
followed by its batch's read-back, or returns the entry itself), and a read-back that
asked for some entitlements only (a batch's grants) replaces those grants alone.

It is only used where it is the whole truth, else the source is read again as before
(``usable``): the connector says a read-back is what its read gives
(``Capabilities.read_back_complete``); the source was read at the start of this run and
has no managed groups; only account orders that a read-back shows (create, update, grant,
revoke) were sent; every order sent ended ``verified`` (a write that failed may have half
happened) and its account was read back.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Collection, Iterable, Mapping

from accesshive.plan.kinds import OrderKind
from accesshive.plan.orders import Order
from accesshive.plan.states import OrderState
from accesshive.state.snapshot import SnapshotAccount, SourceSnapshot

SHOWN_BY_READ_BACK = frozenset(
    {
        OrderKind.CREATE_ACCOUNT,
        OrderKind.UPDATE_ACCOUNT,
        OrderKind.GRANT,
        OrderKind.REVOKE,
    }
)
"""The orders whose whole effect a read-back of their account shows."""

NEVER_SENT = frozenset(
    {
        OrderState.PENDING,
        OrderState.AWAITING_APPROVAL,
        OrderState.BLOCKED,
        OrderState.DECLINED,
        OrderState.INACTIVE,
    }
)
"""Final states of a run for an order that reached no target in it."""


class Observed:
    """The accounts apply read back, per source (thread-safe: the executor's batches note
    them concurrently).

    Each read is noted with when it started (``at``): batches of one source run on
    several threads, so a read that started before another batch's write to the same
    account (a grant's read-back, before the update of its mail) may be noted after that
    write's own read-back. What a later-started read saw stands; an earlier one adds
    only the grants the later did not ask about."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, tuple[SnapshotAccount, frozenset[str] | None, float]]] = {}

    def note(
        self,
        source: str,
        accounts: Iterable[SnapshotAccount],
        entitlements: Collection[str] | None,
        at: float | None = None,
    ) -> None:
        """``accounts`` as just read from ``source``; ``entitlements``: the grants the read
        was asked for (the others it does not show), None for all of them; ``at``: when the
        read started (``time.monotonic()``; default: now)."""
        covered = None if entitlements is None else frozenset(entitlements)
        started = time.monotonic() if at is None else at
        with self._lock:
            seen = self._seen.setdefault(source, {})
            for account in accounts:
                seen[account.external_id] = _merge(
                    seen.get(account.external_id), account, covered, started
                )

    def accounts(self, source: str) -> Mapping[str, tuple[SnapshotAccount, frozenset[str] | None]]:
        with self._lock:
            return {ext: (a, c) for ext, (a, c, _) in self._seen.get(source, {}).items()}


_Seen = tuple[SnapshotAccount, frozenset[str] | None, float]


def _merge(
    before: _Seen | None, account: SnapshotAccount, covered: frozenset[str] | None, at: float
) -> _Seen:
    """The account as the latest-started read saw it, with the grants of the other read
    that it did not ask about (and which entitlements the two together cover)."""
    if before is None:
        return account, covered, at
    earlier, earlier_covered, earlier_at = before
    if at >= earlier_at:  # this read is the later one: it stands
        if covered is None:
            return account, None, at
        kept = [g for g in earlier.grants if g not in covered]
        grants = sorted({*kept, *(g for g in account.grants if g in covered)})
        union = None if earlier_covered is None else earlier_covered | covered
        return dataclasses.replace(account, grants=grants), union, at
    # an earlier read, noted late: it adds only the grants the later one did not ask about
    if earlier_covered is None:
        return before
    newly = None if covered is None else covered - earlier_covered
    kept = [
        g for g in earlier.grants if g in earlier_covered or (newly is not None and g not in newly)
    ]
    added = [
        g for g in account.grants if g not in earlier_covered and (newly is None or g in newly)
    ]
    union = None if covered is None else earlier_covered | covered
    return dataclasses.replace(earlier, grants=sorted({*kept, *added})), union, earlier_at


def usable(
    source: str,
    orders: Iterable[Order],
    states: Mapping[str, str],
    accounts: Mapping[str, str | None],
    observed: Observed,
) -> bool:
    """Whether ``refreshed`` gives the source's snapshot after this run (module docstring):
    ``states``: what this run recorded per order; ``accounts``: order id → the account
    it acted on (None when not known)."""
    seen = observed.accounts(source)
    for order in orders:
        if order.change.source != source or order.id not in states:
            continue
        state = states[order.id]
        if state in NEVER_SENT:
            continue
        if state != OrderState.VERIFIED or order.kind not in SHOWN_BY_READ_BACK:
            return False
        account = accounts.get(order.id)
        if account is None or account not in seen:
            return False
    return True


def refreshed(
    before: SourceSnapshot, source: str, observed: Observed, read_at: str
) -> SourceSnapshot:
    """``before`` (read at the start of the run) with the accounts apply read back since;
    ``read_at``: now (the last read-back is moments old)."""
    accounts = {a.external_id: a for a in before.accounts}
    for external_id, (account, covered) in observed.accounts(source).items():
        earlier = accounts.get(external_id)
        if covered is not None:  # grants it did not ask about are as they were
            kept = [g for g in (earlier.grants if earlier else []) if g not in covered]
            grants = sorted({*kept, *(g for g in account.grants if g in covered)})
            account = dataclasses.replace(account, grants=grants)
        accounts[external_id] = account
    return SourceSnapshot(
        accounts=list(accounts.values()),
        groups=before.groups,
        credentials=before.credentials,
        read_at=read_at,
    )
