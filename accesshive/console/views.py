"""What the console's pages show, read from the repository and the store; no HTTP here.

Every figure comes from the operation the CLI uses for it, so the console and the
commands never disagree: statuses and steps from ``identity_status`` (``accesshive
status``), health, drift and orphans from ``health_report`` (``accesshive report
--no-sync`` without recording it), the audit verdict from ``verify_log`` (``accesshive
audit verify``). Nothing here writes to the store or to a target.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accesshive.audit.verify import LogReport, verify_log
from accesshive.config.account_kinds import link_identity, split_link
from accesshive.operations import (
    IdentityStatus,
    Loaded,
    StoreRef,
    identity_status,
    plan_repository,
)
from accesshive.operations._common import load_and_expand, stored_plan
from accesshive.operations.reporting import health_report
from accesshive.plan.matching import Matcher
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.plan.states import OrderState
from accesshive.reports.health import IdentityHealth, Report
from accesshive.state.snapshot import Snapshot, SnapshotAccount
from accesshive.store import OrderEvent

FILTERS = ("status", "health", "type", "source", "lifecycle")
"""The identity list's filters, each a query parameter of ``/``."""


@dataclass(frozen=True)
class IdentityRow:
    id: str
    status: str
    health: str
    type: str
    lifecycle: str
    sources: tuple[str, ...]
    outstanding: int

    def matches(self, query: str, chosen: dict[str, str]) -> bool:
        if query and query.lower() not in self.id.lower():
            return False
        for name, value in chosen.items():
            if not value:
                continue
            if name == "source":
                if value not in self.sources:
                    return False
            elif getattr(self, name) != value:
                return False
        return True


@dataclass(frozen=True)
class AccountView:
    """One account of an identity on one source: what the configuration wants and what
    the latest sync found there, however it was found: by the link accesshive wrote, or
    by a correlation attribute (an account adopted, or about to be)."""

    source: str
    kind: str
    desired_state: str
    """``not assigned`` for an account linked to the identity on a source it no longer
    has (its managed access is being taken away)."""
    desired_grants: tuple[str, ...]
    found: SnapshotAccount | None
    matched_on: str = ""
    """``link``, the correlation attribute that found it, or "" (none found)."""
    duplicates: tuple[str, ...] = ()
    """Other accounts that correlate with the identity too (accesshive never guesses)."""


@dataclass
class Overview:
    """Everything the identity pages show, computed once per request."""

    project: str
    environment: str
    store_exists: bool
    rows: list[IdentityRow]
    statuses: dict[str, IdentityStatus]
    health: dict[str, IdentityHealth]
    report: Report | None
    loaded: Loaded
    read_at: dict[str, str | None] = field(default_factory=dict)
    snapshot: Snapshot = field(default_factory=Snapshot)
    """What the latest sync of each source found."""

    def counts(self, attribute: str) -> dict[str, int]:
        return dict(sorted(Counter(getattr(r, attribute) for r in self.rows).items()))

    def choices(self, name: str) -> list[str]:
        if name == "source":
            return sorted({s for r in self.rows for s in r.sources})
        return sorted({getattr(r, name) for r in self.rows})

    def accounts(self, identity: str) -> list[AccountView]:
        """Each account the identity should have, with the one the latest snapshot holds
        for it, matched as plan matches it (``plan.matching.Matcher``: the link first, then
        each correlation attribute); then the accounts still linked to it on sources it
        no longer has."""
        config, desired = self.loaded
        mine = sorted(
            (a for a in desired.accounts.values() if a.identity == identity),
            key=lambda a: (a.source, a.kind),
        )
        out: list[AccountView] = []
        shown: set[tuple[str, str]] = set()
        matchers: dict[str, Matcher] = {}
        for wanted in mine:
            sid = wanted.source
            if sid not in matchers:
                matchers[sid] = Matcher(config.sources[sid], self.snapshot.source(sid))
            have, matched_on, duplicates = matchers[sid].match(wanted)
            if have is not None:
                shown.add((sid, have.external_id))
            out.append(
                AccountView(
                    sid,
                    wanted.kind,
                    str(wanted.state),
                    tuple(sorted(wanted.grants)),
                    have,
                    matched_on if have is not None else "",
                    tuple(d.external_id for d in duplicates),
                )
            )
        for sid, snap in sorted(self.snapshot.sources.items()):
            for account in snap.accounts:
                linked = link_identity(account.identity)
                if linked == identity and (sid, account.external_id) not in shown:
                    kind = split_link(account.identity or "")[1]
                    out.append(AccountView(sid, kind, "not assigned", (), account, "link"))
        return out


def overview(root: Path, store: StoreRef, today: dt.date) -> Overview:
    """Each identity's status, health, type, lifecycle state and sources."""
    loaded = load_and_expand(root, today, store.environment)
    config, desired = loaded
    exists = store.exists(root)
    snapshot = Snapshot()
    fingerprints: dict[str, str] = {}
    if exists:  # read once, for the plan, the report and the accounts found
        with store.open(root) as opened:
            snapshot, fingerprints = opened.latest_snapshot_and_fingerprints()
    plan = plan_repository(
        root,
        today,
        allow_mass_changes=True,
        store=store,
        loaded=loaded,
        latest=(snapshot, fingerprints) if exists else None,
    )
    statuses = {s.identity: s for s in identity_status(root, store, today, loaded, plan)}
    report: Report | None = None
    if exists:
        with store.open(root) as opened:
            report = health_report(loaded, opened, today, plan=plan, snapshot=snapshot)
    read_at = {sid: s.read_at for sid, s in snapshot.sources.items()}
    health = {h.identity: h for h in report.identities} if report else {}
    sources: dict[str, set[str]] = {}
    for account in desired.accounts.values():
        sources.setdefault(account.identity, set()).add(account.source)
    rows = []
    for iid, status in sorted(statuses.items()):
        ident = desired.identities.get(iid)
        rows.append(
            IdentityRow(
                id=iid,
                status=status.status,
                health=health[iid].health if iid in health else "unknown",
                type=ident.type if ident else str(config.identities[iid].type),
                lifecycle=ident.lifecycle_state if ident else "",
                sources=tuple(sorted(sources.get(iid, ()))),
                outstanding=len(status.outstanding),
            )
        )
    return Overview(
        project=config.project.name,
        environment=config.environment,
        store_exists=exists,
        rows=rows,
        statuses=statuses,
        health=health,
        report=report,
        loaded=loaded,
        read_at=read_at,
        snapshot=snapshot,
    )


@dataclass(frozen=True)
class RunView:
    id: int
    actor: str
    started_at: str
    finished_at: str | None
    status: str
    plan_digest: str
    orders: list[tuple[Order, OrderEvent | None]]

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(e.state if e else "not run" for _, e in self.orders).items()))


def runs(root: Path, store: StoreRef, limit: int = 50) -> list[RunView]:
    """The latest apply runs, newest first, each with its plan's orders and the state each
    reached in that run ("not run" for the orders the run did not touch: done before, or
    outside a targeted run)."""
    if not store.exists(root):
        return []
    out = []
    plans: dict[str, Plan | None] = {}
    with store.open(root) as opened:
        for run in reversed(opened.runs()[-limit:]):
            digest = str(run["plan_digest"])
            if digest not in plans:
                plans[digest] = stored_plan(opened, digest)
            plan = plans[digest]
            states = opened.run_states(int(run["id"]))
            orders = [(o, states.get(o.id)) for o in plan.orders] if plan else []
            out.append(
                RunView(
                    id=int(run["id"]),
                    actor=str(run["actor"]),
                    started_at=str(run["started_at"]),
                    finished_at=run["finished_at"],
                    status=str(run["status"] or "running"),
                    plan_digest=digest,
                    orders=orders,
                )
            )
    return out


@dataclass(frozen=True)
class Review:
    identity: str
    order: Order
    state: str
    at: str | None
    message: str | None


def reviews(view: Overview) -> list[Review]:
    """Steps that wait for reviewers (gated, not yet approved) or that a reviewer
    declined, in each identity's dependency order."""
    out = []
    for status in view.statuses.values():
        for step in status.steps:
            if step.state in (OrderState.AWAITING_APPROVAL, OrderState.DECLINED) or (
                step.order.gate is not None and step.state == OrderState.PENDING
            ):
                out.append(Review(status.identity, step.order, step.state, step.at, step.message))
    return out


AUDIT_PAGE = 100
"""Audit entries per page of the console's audit trail."""


@dataclass(frozen=True)
class AuditView:
    verdict: LogReport | None
    entries: list[dict[str, Any]]
    """One page, newest first."""
    older: int | None = None
    """The ``before`` cursor of the next (older) page; None: this is the oldest."""
    newer: int | None = None
    """The ``before`` cursor of the previous (newer) page; None: this is the newest."""


def audit(
    root: Path, store: StoreRef, before: int | None = None, limit: int = AUDIT_PAGE
) -> AuditView:
    """One page of audit entries, newest first, older than sequence number ``before``
    (None: the newest), and what ``audit verify`` says of the whole log."""
    if not store.exists(root):
        return AuditView(None, [])
    with store.open(root) as opened:
        entries = opened.audit_page(before, limit + 1)
        verdict = verify_log(opened)
        newest = opened.audit_page(None, 1)
    shown = entries[:limit]
    older = int(shown[-1]["seq"]) if len(entries) > limit else None
    newer = None
    if shown and newest and int(shown[0]["seq"]) < int(newest[0]["seq"]):
        newer = int(shown[0]["seq"]) + limit + 1
    return AuditView(verdict, shown, older, newer)


def marker(root: Path, store: StoreRef) -> str:
    """What changes whenever the store records something: the latest audit entry's
    sequence number (every run, order state and sync is audited). The pages poll it to
    reload when it moves."""
    if not store.exists(root):
        return "0"
    with store.open(root) as opened:
        latest = opened.audit_log(1)
        return str(latest[-1]["seq"]) if latest else "0"
