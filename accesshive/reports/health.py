"""The drift, orphan and health report: what the targets look like against the repo.

Pure: built from the desired state, the latest snapshots, the plan between them,
and what the store remembers (the latest apply's order states, open tasks,
when each account was first seen). Nothing is written to a target.

Health per identity (the product's vocabulary):
- ``healthy``: its accounts and access match the configuration;
- ``needs_provisioning``: something differs (each difference listed);
- ``error``: a provisioning step of the latest apply failed;
- ``not_managed``: a credential-only identity, no directory account to watch.
Accounts no identity owns are ``orphaned``. A managed group (``managed: true``) whose
target differs from its declaration (missing, another name or description, still there
though declared absent) is listed under ``groups`` with each difference, and counts as
drift. Every account that holds a sensitive entitlement is listed under
``sensitive_access``, with its identity and account kind (an admin account beside the
everyday one is its own line), whoever owns it: found as a plan finds it (by the link
accesshive recorded, then by correlation, ``plan.matching``), so an identity's account on a
source that keeps no link (a manual source, Google Workspace) is the identity's here as
it is in the plan, and the accounts listed as nobody's are exactly the orphans.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from accesshive.config.account_kinds import split_link
from accesshive.config.model import Source
from accesshive.expand.desired import DesiredAccount, DesiredState
from accesshive.plan.diff import wanted_by_source
from accesshive.plan.kinds import GROUP_ACTIONS
from accesshive.plan.matching import Matcher
from accesshive.plan.model import Plan
from accesshive.plan.states import DONE, FAILED, OrderState
from accesshive.render.describe import summary_line
from accesshive.reports.waiting import Waiting, describe, waiting_on
from accesshive.state.snapshot import Snapshot, SourceSnapshot
from accesshive.store.base import OrderEvent, Task


@dataclass(frozen=True)
class IdentityHealth:
    identity: str
    type: str
    lifecycle_state: str
    health: str
    differences: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    waiting_on: tuple[Waiting, ...] = ()
    """The sources its differences are on, each with why it waits (``reports.waiting``)."""

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "waiting_on": [w.to_json() for w in self.waiting_on]}

    def waiting(self) -> str:
        """``4 outstanding: crm unreachable`` / ``2 outstanding on wiki`` (or nothing)."""
        n = sum(w.outstanding for w in self.waiting_on)
        return f"{n} outstanding{describe(self.waiting_on)}" if n else ""


@dataclass(frozen=True)
class GroupDrift:
    """A managed group whose target differs from its declaration."""

    source: str
    entitlement: str
    name: str | None
    differences: tuple[str, ...]


@dataclass(frozen=True)
class OrphanAccount:
    source: str
    account: str
    name: str | None
    enabled: bool
    first_seen: str | None
    last_login: str | None


@dataclass(frozen=True)
class SensitiveAccess:
    """One account holding sensitive entitlements, as the target holds it now."""

    source: str
    account: str
    name: str | None
    identity: str | None
    """The identity whose account it is, found as a plan finds it: by its link, else by
    correlation (None: nobody's, an orphan)."""
    account_kind: str | None
    """default, admin...; None when it is nobody's."""
    enabled: bool
    entitlements: tuple[str, ...]


@dataclass(frozen=True)
class StaleItem:
    kind: str
    """awaiting_approval, manual_task or credential."""
    subject: str
    age_days: int
    detail: str


@dataclass
class Report:
    project: str
    environment: str
    date: str
    identities: list[IdentityHealth]
    orphans: list[OrphanAccount]
    stale: list[StaleItem]
    previous: tuple[str, dict[str, Any]] | None = None
    totals: dict[str, int] = field(default_factory=dict)
    groups: list[GroupDrift] = field(default_factory=list)
    sensitive_access: list[SensitiveAccess] = field(default_factory=list)

    def trend(self) -> dict[str, int]:
        """How each total moved since the previous report (0 when there is none)."""
        before = self.previous[1] if self.previous else {}
        return {k: v - int(before.get(k, v)) for k, v in self.totals.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "environment": self.environment,
            "date": self.date,
            "totals": self.totals,
            "previous": {"at": self.previous[0], "totals": self.previous[1]}
            if self.previous
            else None,
            "trend": self.trend(),
            "identities": [i.to_json() for i in self.identities],
            "orphans": [o.__dict__ for o in self.orphans],
            "stale": [s.__dict__ for s in self.stale],
            "groups": [g.__dict__ for g in self.groups],
            "sensitive_access": [
                {**a.__dict__, "entitlements": list(a.entitlements)} for a in self.sensitive_access
            ],
        }


def _age(at: str | None, today: dt.date) -> int:
    if not at:
        return 0
    return (today - dt.datetime.fromisoformat(at).date()).days


def build_report(
    *,
    project: str,
    environment: str,
    desired: DesiredState,
    snapshot: Snapshot,
    plan: Plan,
    latest_states: Mapping[str, OrderEvent],
    latest_plan: Plan | None,
    tasks: list[Task],
    first_seen: Mapping[tuple[str, str], str],
    rotation_days: Mapping[str, int | None],
    today: dt.date,
    stale_days: int = 7,
    previous: tuple[str, dict[str, Any]] | None = None,
    name_attributes: Mapping[str, str | None] | None = None,
    sources: Mapping[str, Source] | None = None,
) -> Report:
    """``name_attributes``: source → the attribute that names its accounts (for
    ``sensitive_access``; without it, accounts are named by their external id).
    ``sources``: the configuration's sources, to find whose each account holding sensitive
    access is as a plan does (without them, by the recorded link alone)."""
    differences: dict[str, list[str]] = {}
    for order in plan.orders:
        if order.change.identity:
            differences.setdefault(order.change.identity, []).append(summary_line(order))
    waiting = _waiting(plan, latest_states)
    errors: dict[str, list[str]] = {}
    for order in latest_plan.orders if latest_plan else ():
        state = latest_states.get(order.id)
        if order.change.identity and state is not None and state.state in FAILED:
            errors.setdefault(order.change.identity, []).append(
                f"{summary_line(order)}: {state.state} ({state.message or 'no message'})"
            )
    identities = []
    for iid, ident in sorted(desired.identities.items()):
        diffs = tuple(differences.get(iid, ()))
        errs = tuple(errors.get(iid, ()))
        if errs and diffs:
            health = "error"
        elif ident.credential_only and not diffs:
            health = "not_managed"
        elif diffs:
            health = "needs_provisioning"
        else:
            health = "healthy"
        identities.append(
            IdentityHealth(
                iid, ident.type, ident.lifecycle_state, health, diffs, errs, waiting.get(iid, ())
            )
        )
    orphans = [
        OrphanAccount(
            x.source,
            x.account,
            x.name,
            x.enabled,
            first_seen.get((x.source, x.account)),
            x.last_login,
        )
        for x in plan.orphans
    ]
    groups = _group_drift(plan)
    stale = _stale(latest_plan, latest_states, tasks, snapshot, rotation_days, today, stale_days)
    counts = Counter(i.health for i in identities)
    totals = {
        "identities": len(identities),
        "healthy": counts["healthy"],
        "needs_provisioning": counts["needs_provisioning"],
        "error": counts["error"],
        "not_managed": counts["not_managed"],
        "orphaned": len(orphans),
        "drift": sum(len(i.differences) for i in identities)
        + sum(len(g.differences) for g in groups),
        "stale": len(stale),
    }
    return Report(
        project,
        environment,
        today.isoformat(),
        identities,
        orphans,
        stale,
        previous,
        totals,
        groups,
        _sensitive_access(desired, snapshot, name_attributes or {}, sources or {}),
    )


def _waiting(plan: Plan, latest_states: Mapping[str, OrderEvent]) -> dict[str, tuple[Waiting, ...]]:
    """Identity → the sources its differences are on and why each waits: the state the
    latest apply recorded for the same order (an order's id is what it does), else the
    state a plan gives it."""
    steps: dict[str, list[tuple[str, str, str | None]]] = {}
    for order in plan.orders:
        if not order.change.identity:
            continue
        known = latest_states.get(order.id)
        state, message = (
            (known.state, known.message)
            if known is not None and known.state not in DONE
            else (str(order.state), None)
        )
        steps.setdefault(order.change.identity, []).append((order.change.source, state, message))
    return {iid: waiting_on(found) for iid, found in steps.items()}


def _group_drift(plan: Plan) -> list[GroupDrift]:
    """The managed groups the plan has orders for (one each: create, update or delete)."""
    out: dict[tuple[str, str], list[str]] = {}
    names: dict[tuple[str, str], str | None] = {}
    for order in plan.orders:
        c = order.change
        if order.action in GROUP_ACTIONS and c.entitlement:
            out.setdefault((c.source, c.entitlement), []).append(summary_line(order))
            names[(c.source, c.entitlement)] = c.name
    return [
        GroupDrift(sid, eid, names[(sid, eid)], tuple(d)) for (sid, eid), d in sorted(out.items())
    ]


def _owners(source: Source, snap: SourceSnapshot, wanted: list[DesiredAccount]) -> dict[str, str]:
    """external id → the link (``identity`` or ``identity#kind``) of the wanted account
    that claims it, matched exactly as diff matches (``Matcher``, every wanted account of
    the source in matching order): its account, or a duplicate of it (claimed, so never
    an orphan). Accounts no wanted account claims are absent."""
    matcher = Matcher(source, snap)
    out: dict[str, str] = {}
    for want in wanted:
        have, _, duplicates = matcher.match(want)
        for acc in ([have] if have is not None else []) + duplicates:
            out[acc.external_id] = want.link
    return out


def _sensitive_access(
    desired: DesiredState,
    snapshot: Snapshot,
    name_attributes: Mapping[str, str | None],
    sources: Mapping[str, Source],
) -> list[SensitiveAccess]:
    """Every account of the snapshot that holds a sensitive entitlement, each account on
    its own (an identity's admin account is not folded into its everyday one), with the
    identity a plan finds it is (``_owners``), else the one it is linked to."""
    out: list[SensitiveAccess] = []
    wanted: dict[str, list[DesiredAccount]] | None = None
    for sid, snap in sorted(snapshot.sources.items()):
        sensitive = desired.sensitive.get(sid)
        if not sensitive:
            continue
        holders = [acc for acc in snap.accounts if not sensitive.isdisjoint(acc.grants)]
        if not holders:
            continue
        owners: dict[str, str] = {}
        # a linked account is its link's (no other identity may take it): matching is
        # needed only where a holder carries no link (a manual source, Google Workspace)
        if sid in sources and any(acc.identity is None for acc in holders):
            wanted = wanted_by_source(desired) if wanted is None else wanted
            owners = _owners(sources[sid], snap, wanted.get(sid, []))
        attr = name_attributes.get(sid)
        for acc in holders:
            held = tuple(sorted(sensitive.intersection(acc.grants)))
            link = owners.get(acc.external_id, acc.identity)
            iid, kind = split_link(link) if link else (None, None)
            name = acc.attributes.get(attr) if attr else None
            out.append(
                SensitiveAccess(
                    sid,
                    acc.external_id,
                    None if name is None else str(name),
                    iid,
                    kind,
                    acc.enabled,
                    held,
                )
            )
    return sorted(out, key=lambda a: (a.source, a.identity or "~", a.account_kind or "", a.account))


def _stale(
    latest_plan: Plan | None,
    states: Mapping[str, OrderEvent],
    tasks: list[Task],
    snapshot: Snapshot,
    rotation_days: Mapping[str, int | None],
    today: dt.date,
    stale_days: int,
) -> list[StaleItem]:
    out: list[StaleItem] = []
    for order in latest_plan.orders if latest_plan else ():
        state = states.get(order.id)
        if state is not None and state.state == OrderState.AWAITING_APPROVAL:
            age = _age(state.at, today)
            if age > stale_days:
                out.append(StaleItem("awaiting_approval", order.id, age, summary_line(order)))
    for task in tasks:
        age = _age(task.created_at, today)
        if task.state == "open" and age > stale_days:
            out.append(StaleItem("manual_task", task.id, age, f"{task.source}: {task.description}"))
    for snap in snapshot.sources.values():
        for cred in snap.credentials:
            limit = rotation_days.get(cred.identity)
            last = cred.rotated_at or cred.stored_at
            if limit and last and (today - last).days > limit:
                out.append(
                    StaleItem(
                        "credential",
                        cred.identity,
                        (today - last).days,
                        f"{cred.kind} last rotated {last.isoformat()}; policy: every {limit} days",
                    )
                )
    return sorted(out, key=lambda s: (s.kind, -s.age_days, s.subject))
