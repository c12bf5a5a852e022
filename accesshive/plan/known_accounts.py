"""Leavers' accounts on manual sources that accesshive knows of but the export does not show.

A manual source's snapshot is its owner's latest export. An account its owner created
on a task marked done (``accesshive tasks done``) is in no export until the owner sends
a new one, so diff, which compares against the export, sees nothing to take away when
its identity leaves: the badge would stay. accesshive knows better: the create task was
verified, as were the grants done after it (the same record that keeps ``plan`` from
reporting an account it created as adopted, ``operations/planning.py``). This module
adds, for such a leaver, the orders its lifecycle state asks of an existing account:
revoke what was granted (when access is revoked), disable or delete it.

Pure: the caller reads the verified and open tasks from the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from accesshive.config import Config
from accesshive.config.account_kinds import DEFAULT_KIND
from accesshive.expand.desired import DesiredAccount, DesiredState
from accesshive.plan.changes import Changes
from accesshive.plan.kinds import OrderKind
from accesshive.plan.matching import Matcher
from accesshive.plan.orders import Change
from accesshive.state.snapshot import Snapshot


@dataclass(frozen=True)
class TaskRecord:
    """What the store says of one manual order: its task's state and when it was done."""

    state: str
    """``verified`` (done) or ``open``."""
    done_at: str = ""
    """ISO time it was done (empty while open): later is greater."""


def _kind(want: DesiredAccount) -> dict[str, str]:
    return {} if want.kind == DEFAULT_KIND else {"account_kind": want.kind}


def _order_id(action: str, want: DesiredAccount, entitlement: str | None = None) -> str:
    """The id every plan gives this step of this identity's account (``Change.key``:
    neither the external id nor the attributes enter it)."""
    return Change(
        action, want.source, want.identity, entitlement=entitlement, details=_kind(want)
    ).order_id()


def leavers_on_manual_sources(config: Config, desired: DesiredState) -> list[DesiredAccount]:
    """The accounts wanted taken away (disabled, deleted or stripped of access) on manual
    sources, in (source, link) order: the only ones this module can add orders for."""
    manual = {sid for sid, s in config.sources.items() if s.effective_provisioning == "manual"}
    if not manual:
        return []  # most large organisations: no account is looked at
    out = [
        want
        for (sid, _), want in desired.accounts.items()
        if sid in manual and (want.state != "enabled" or want.access == "revoked")
    ]
    return sorted(out, key=lambda w: (w.source, w.link))


def create_order_id(want: DesiredAccount) -> str:
    """The id of the order that creates ``want``'s account (its task: ``T-<id>``)."""
    return _order_id(OrderKind.CREATE_ACCOUNT, want)


def task_order_ids(config: Config, want: DesiredAccount) -> list[str]:
    """The order ids whose tasks say what became of ``want``'s account: its create, the
    grants of its source's entitlements, and the leaver steps."""
    ents = sorted(config.sources[want.source].entitlements)
    ids = [_order_id(a, want) for a in (OrderKind.CREATE_ACCOUNT, *_LEAVING)]
    ids += [_order_id(a, want, e) for a in (OrderKind.GRANT, OrderKind.REVOKE) for e in ents]
    return ids


_LEAVING = (OrderKind.DISABLE_ACCOUNT, OrderKind.DELETE_ACCOUNT, OrderKind.ENABLE_ACCOUNT)


def with_known_accounts(
    config: Config,
    desired: DesiredState,
    snapshot: Snapshot,
    found: Changes,
    tasks: Mapping[str, TaskRecord],
) -> Changes:
    """``found`` with the leaver orders of accounts created on a verified task that the
    export does not show, and a warning for each leaver whose create task is still open
    (accesshive cannot know whether the owner did it)."""
    planned = {c.order_id() for c in found.changes}
    added: list[Change] = []
    warnings: list[str] = []
    matchers: dict[str, Matcher] = {}
    for want in leavers_on_manual_sources(config, desired):
        sid = want.source
        created = tasks.get(_order_id(OrderKind.CREATE_ACCOUNT, want))
        if created is None:
            continue
        if sid not in matchers:
            matchers[sid] = Matcher(config.sources[sid], snapshot.source(sid))
        matcher = matchers[sid]
        if want.link in matcher.by_link or matcher.reach(want):
            continue  # the export shows it: diff decided already
        if created.state != "verified":
            warnings.append(_open_create_warning(sid, want))
            continue
        for change in _leaving(config, want, created.done_at, tasks):
            if change.order_id() not in planned:
                added.append(change)
    if not added and not warnings:
        return found
    return replace(
        found,
        changes=found.changes + tuple(added),
        conflicts=found.conflicts + tuple(warnings),
    )


def _open_create_warning(sid: str, want: DesiredAccount) -> str:
    task = f"T-{_order_id(OrderKind.CREATE_ACCOUNT, want)}"
    return (
        f"source '{sid}': identity '{want.identity}' is leaving, and its account's create "
        f"task {task} is still open while the export shows no such account: if the owner "
        f"created it, run `accesshive tasks done {task}` and plan again, so that it is "
        "taken away"
    )


def _leaving(
    config: Config, want: DesiredAccount, created_at: str, tasks: Mapping[str, TaskRecord]
) -> Iterator[Change]:
    """What the lifecycle state asks of the known account, minus what was done since it
    was created (a disable task done after the create: it is disabled already)."""

    def done_at(action: str, entitlement: str | None = None, since: str = created_at) -> str:
        """When this step's task was done after ``since`` ("" if it was not)."""
        record = tasks.get(_order_id(action, want, entitlement))
        ok = record is not None and record.state == "verified" and record.done_at >= since
        return record.done_at if ok and record is not None else ""

    if done_at(OrderKind.DELETE_ACCOUNT):
        return  # deleted since: nothing is left to take away
    sid, iid = want.source, want.identity
    name = _name(config, want)
    details = {**_kind(want), "known_from": f"T-{_order_id(OrderKind.CREATE_ACCOUNT, want)}"}
    if want.access == "revoked" or want.state == "absent":
        for ent in sorted(config.sources[sid].entitlements):
            granted = done_at(OrderKind.GRANT, ent)
            if granted and not done_at(OrderKind.REVOKE, ent, since=granted):
                yield Change(
                    OrderKind.REVOKE, sid, iid, None, name, entitlement=ent, details=details
                )
    if want.state == "absent":
        yield Change(OrderKind.DELETE_ACCOUNT, sid, iid, None, name, details=details)
        return
    disabled = done_at(OrderKind.DISABLE_ACCOUNT)
    if want.state == "disabled" and not (
        disabled and not done_at(OrderKind.ENABLE_ACCOUNT, since=disabled)
    ):
        yield Change(OrderKind.DISABLE_ACCOUNT, sid, iid, None, name, details=details)


def _name(config: Config, want: DesiredAccount) -> str | None:
    attr = config.sources[want.source].account.name_attribute
    value = want.attributes.get(attr) if attr else None
    return str(value) if value is not None else None
