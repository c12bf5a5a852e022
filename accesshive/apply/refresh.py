"""After apply: what each changed source's snapshot becomes, reading as little as is safe.

Why: apply used to read every source it touched whole once the run was over, so that
the next plan starts from the truth. On a large directory where a run changed a handful
of accounts that read is most of the run. Apply read every such source live just before
it ran (``apply.stale``: the snapshot the run starts from), so the truth afterwards is
that snapshot with the accounts the run acted on read again.

``targeted`` decides which accounts those are, or that the source is read whole: when
the run created an account (its id and its other groups are not in the live snapshot),
acted on a managed group or on anything but an account, or touched so large a share of
the accounts that one full read costs less than looking each up. ``merged`` puts the
accounts read back into the live snapshot: an account read replaces its old self (its
grants of the entitlements the run granted or revoked come from the read, the others
stay as they were), an account not found is gone. Nothing else of the snapshot changes.
Pure: the connector call is the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from accesshive.plan.kinds import OrderKind
from accesshive.plan.model import Plan
from accesshive.plan.states import OrderState
from accesshive.state.snapshot import SnapshotAccount, SourceSnapshot

SHARE = 10
"""Accounts are looked up one batch at a time only when the run acted on at most one in
``SHARE`` of the source's accounts; beyond that a full read is cheaper."""
ACTED = frozenset(
    {
        OrderState.TRANSMITTED,
        OrderState.EXECUTED,
        OrderState.VERIFIED,
        OrderState.ERRORED,
        OrderState.ERROR,
    }
)
"""States of an order that may have reached the target in this run."""
LOOKED_UP = frozenset(
    {
        OrderKind.UPDATE_ACCOUNT,
        OrderKind.ENABLE_ACCOUNT,
        OrderKind.DISABLE_ACCOUNT,
        OrderKind.DELETE_ACCOUNT,
        OrderKind.GRANT,
        OrderKind.REVOKE,
    }
)
"""Orders whose effect is all on one existing account: what a targeted read covers."""


@dataclass(frozen=True)
class Targeted:
    """The accounts to read again, and the entitlements whose grants the run changed."""

    accounts: frozenset[str]
    entitlements: frozenset[str]


def targeted(
    plan: Plan,
    states: Mapping[str, OrderState],
    source_id: str,
    live: SourceSnapshot,
    accounts: Mapping[str, str] | None = None,
) -> Targeted | None:
    """What to read of ``source_id`` after the run, or None: read it whole.

    ``states``: the run's order states; ``accounts``: order id → the account it acted on
    where apply learned it live (``Staleness.accounts``)."""
    ids: set[str] = set()
    entitlements: set[str] = set()
    for order in plan.orders:
        if order.change.source != source_id or states.get(order.id) not in ACTED:
            continue
        account = (accounts or {}).get(order.id) or order.change.account
        if order.action not in LOOKED_UP or account is None:
            return None
        ids.add(account)
        if order.action in (OrderKind.GRANT, OrderKind.REVOKE) and order.change.entitlement:
            entitlements.add(order.change.entitlement)
    if len(ids) * SHARE > len(live.accounts):
        return None
    return Targeted(frozenset(ids), frozenset(entitlements))


def merged(
    live: SourceSnapshot,
    read: Mapping[str, SnapshotAccount],
    target: Targeted,
    read_at: str | None,
) -> SourceSnapshot:
    """``live`` with ``target``'s accounts as ``read`` (``get_accounts``) found them."""
    accounts: list[SnapshotAccount] = []
    seen: set[str] = set()
    for old in live.accounts:
        ext = old.external_id
        if ext not in target.accounts:
            accounts.append(old)
            continue
        seen.add(ext)
        new = read.get(ext)
        if new is not None:  # not found: gone from the target
            accounts.append(_with_grants(new, old, target.entitlements))
    accounts += [read[ext] for ext in sorted(target.accounts - seen) if ext in read]
    return SourceSnapshot(
        accounts=accounts, credentials=live.credentials, groups=live.groups, read_at=read_at
    )


def _with_grants(
    new: SnapshotAccount, old: SnapshotAccount, changed: frozenset[str]
) -> SnapshotAccount:
    """``new`` holding its old grants but for the ``changed`` entitlements, which are as
    read (``get_accounts`` is exact for the entitlements it is asked about, and may leave
    others out)."""
    grants = (set(old.grants) - changed) | (set(new.grants) & changed)
    return SnapshotAccount(
        external_id=new.external_id,
        identity=new.identity,
        enabled=new.enabled,
        attributes=new.attributes,
        grants=sorted(grants),
        last_login=new.last_login if new.last_login is not None else old.last_login,
    )
