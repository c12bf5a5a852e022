"""Planning, as a documented sequence of small pure steps.

``make_plan(config, desired, snapshot)``:
1. diff desired against the snapshot → changes, orphans, adoptions;
2. classify: mark grants and revokes of sensitive entitlements;
3. turn changes into orders: stable ids, ``manual_task`` on manual sources;
4. dependencies → a networkx DAG (a cycle refuses the plan);
5. review gates from the review policy;
6. guardrails: refuse mass removals unless allowed;
7. order the orders topologically, deterministically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

from accesshive import __version__
from accesshive.config import Config
from accesshive.errors import PlanError
from accesshive.expand.desired import DesiredState
from accesshive.plan.changes import Changes
from accesshive.plan.diff import diff
from accesshive.plan.gates import gate_for, known
from accesshive.plan.graph import build_graph, dependencies, ordered
from accesshive.plan.guardrails import check_guardrails, enforce
from accesshive.plan.known_accounts import TaskRecord, with_known_accounts
from accesshive.plan.model import Plan
from accesshive.plan.orders import NO_SNAPSHOT, Change, Order
from accesshive.state.snapshot import Snapshot


def make_plan(
    config: Config,
    desired: DesiredState,
    snapshot: Snapshot,
    today: dt.date,
    allow_mass_changes: bool = False,
    author: str | None = None,
    found: Changes | None = None,
    fingerprints: dict[str, str] | None = None,
    known_tasks: Mapping[str, TaskRecord] | None = None,
) -> Plan:
    """``found``: what diff found, when the caller has it (``cache/diff.py``); else diffed
    here. ``fingerprints``: the snapshot's, when the caller computed them already.
    ``known_tasks``: the store's manual tasks of leavers' accounts (``known_accounts``):
    an account created on a task done but in no export yet still gets its leaver task."""
    if found is None:
        found = diff(config, desired, snapshot, today)
    if known_tasks:
        found = with_known_accounts(config, desired, snapshot, found, known_tasks)
    changes: dict[str, Change] = {}
    for change in found.changes:
        oid = change.order_id()
        if oid in changes and changes[oid] != change:
            raise PlanError(f"two different orders got the same id {oid}: {change.key()}")
        changes[oid] = _classified(change, desired)
    deps = dependencies(config, changes)
    graph = build_graph(changes, deps)
    enforce(
        check_guardrails(changes.values(), snapshot, config.policies.guardrails), allow_mass_changes
    )
    orders = tuple(
        _order(config, oid, changes[oid], sorted(deps[oid])) for oid in ordered(graph, changes)
    )
    warnings = (
        found.conflicts
        + tuple(
            f"source '{sid}'{NO_SNAPSHOT}"
            for sid in sorted(config.sources)
            if sid not in snapshot.sources
        )
        + tuple(d.message for d in config.warnings if d.code == "pushed-record")
        + _unattested(config, author, orders)
    )
    involved = sorted({o.change.identity for o in orders if o.change.identity})
    return Plan(
        project=config.project.name,
        tool_version=__version__,
        config_digest=config.digest,
        fingerprints=fingerprints if fingerprints is not None else snapshot.fingerprints(),
        orders=orders,
        orphans=found.orphans,
        adoptions=found.adoptions,
        warnings=warnings,
        allow_mass_changes=allow_mass_changes,
        author=author,
        planned_on=today.isoformat(),
        identities={
            iid: {
                "type": desired.identities[iid].type,
                "lifecycle_state": desired.identities[iid].lifecycle_state,
                "from": _origin(config, iid),
            }
            for iid in involved
            if iid in desired.identities
        },
    )


def _origin(config: Config, iid: str) -> str:
    """Where an identity was declared: the repository's YAML or an identity provider."""
    where = config.origins.get(("identities", iid))
    imported = where is not None and where.file.split(":")[0] in ("scim", "csv")
    return where.file if where is not None and imported else "yaml"


def _classified(change: Change, desired: DesiredState) -> Change:
    if change.entitlement and change.entitlement in desired.sensitive.get(change.source, ()):
        return replace(change, sensitive=True)
    return change


def _order(config: Config, oid: str, change: Change, deps: list[str]) -> Order:
    source = config.sources[change.source]
    manual = source.effective_provisioning == "manual"
    kind = "manual_task" if manual else change.action
    return Order(
        id=oid,
        kind=kind,
        change=change,
        depends_on=tuple(deps),
        gate=gate_for(change, config.policies.review, kind, *known(config, change)),
        assignee=(source.owner or "source owner") if manual else None,
    )


def _unattested(config: Config, author: str | None, orders: tuple[Order, ...]) -> tuple[str, ...]:
    """Say it before anyone signs: with ``require_author`` no approval of a plan made
    without ``--author`` counts (unless ``approvals from-github`` reads the pull request)."""
    if author or not config.policies.review.require_author or not any(o.gate for o in orders):
        return ()
    return (
        "policies/review.yaml requires the plan's author (require_author) and this plan "
        "names none: its approvals will not count unless approvals from-github "
        "reads its pull request; make it with `accesshive plan --author LOGIN`",
    )
