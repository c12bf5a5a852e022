"""Operations that read the configuration and make a plan: validate, plan, and keep a
saved plan in the store. Nothing here writes to a target."""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from accesshive.cache import diff
from accesshive.config import Config
from accesshive.config.account_kinds import DEFAULT_KIND
from accesshive.diagnostics import Diagnostic
from accesshive.errors import ConfigError
from accesshive.expand.desired import DesiredState
from accesshive.operations._common import (
    Loaded,
    Steps,
    StoreRef,
    bulk_work,
    load_and_expand,
    no_steps,
)
from accesshive.pipeline import snapshot_file as read_snapshot_file
from accesshive.plan.build import make_plan
from accesshive.plan.changes import Changes
from accesshive.plan.gates import guarded
from accesshive.plan.guardrails import check_guardrails, enforce
from accesshive.plan.kinds import OrderKind
from accesshive.plan.known_accounts import (
    TaskRecord,
    create_order_id,
    leavers_on_manual_sources,
    task_order_ids,
)
from accesshive.plan.model import Plan
from accesshive.plan.orders import Change
from accesshive.plan.planfile import dumps
from accesshive.policies_in_force import differing
from accesshive.state.snapshot import Snapshot
from accesshive.store import Store
from accesshive.tasks import done_since_read


@dataclass(frozen=True)
class Validation:
    config: Config | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def validate_repository(
    root: Path, today: dt.date, environment: str | None = None, steps: Steps = no_steps
) -> Validation:
    try:
        config, _ = load_and_expand(root, today, environment, steps=steps)
    except ConfigError as exc:
        return Validation(None, exc.diagnostics)
    return Validation(config, config.warnings)


def plan_repository(
    root: Path,
    today: dt.date,
    snapshot_file: Path | None = None,
    allow_mass_changes: bool = False,
    store: StoreRef | None = None,
    author: str | None = None,
    loaded: Loaded | None = None,
    steps: Steps = no_steps,
    latest: tuple[Snapshot, dict[str, str]] | None = None,
) -> Plan:
    """Load, expand, diff against the snapshot, and build the plan (nothing is written).

    The snapshot is the file given, else the latest one stored by sync, else empty.
    ``loaded``: the repository already loaded and expanded (then it is not read again).
    ``steps``: told of each stage as it starts (``operations._common.Steps``).
    ``latest``: the store's latest snapshot and its fingerprints, when the caller has
    read them already (the console reads them once for its plan and its report).

    The store, when there is one, is opened once for everything the plan reads from it
    (the snapshot, the orders done, the manual tasks, the review policies in force), not
    once for each. Review policies that differ from those in force (``policies_in_force``)
    gate each order by both until the change is applied (``plan.gates.guarded``).
    """
    with bulk_work():
        config, desired = loaded or load_and_expand(
            root, today, store.environment if store else None, steps=steps
        )
        kept = store is not None and store.exists(root)
        with store.open(root) if store is not None and kept else nullcontext() as opened:
            with steps("reading the snapshot"):
                if snapshot_file:
                    snapshot, fingerprints = read_snapshot_file(snapshot_file)
                elif latest is not None:
                    snapshot, fingerprints = latest
                elif opened is not None:
                    snapshot, fingerprints = opened.latest_snapshot_and_fingerprints()
                else:
                    snapshot = Snapshot()
                    fingerprints = snapshot.fingerprints()
            with steps(f"diffing {len(desired.accounts):,} accounts"):
                found = diff.diff(config, desired, snapshot, fingerprints, today)
                known = None
                in_force = None
                others: list[str] = []
                lender: str | None = None
                latest_run: dict[str, Any] | None = None
                nearby: tuple[str, str] | None = None
                unjudged = store is not None  # nothing on record to judge the change by
                if opened is None and store is not None:
                    nearby = store.nearby_policies_in_force(root)
                    in_force = differing(config, nearby[1]) if nearby else None
                if opened is not None:
                    recorded = opened.policies_in_force()
                    in_force = differing(config, recorded)
                    unjudged = recorded is None
                    others = opened.environments_with_policies_in_force()
                    lender = opened.borrowed_policies_from()
                    nearby = opened.nearby_policies_in_force()
                    found = as_the_store_knows(opened, config, snapshot, found, snapshot_file)
                    known = manual_task_records(opened, config, desired)
                    latest_run = opened.latest_run()
        with steps(f"ordering {len(found.changes):,} changes"):
            plan = make_plan(
                config,
                desired,
                snapshot,
                today,
                allow_mass_changes,
                author,
                found=found,
                fingerprints=fingerprints,
                known_tasks=known,
            )
            environment = opened.environment if opened else (store.name(root) if store else "")
            if store is not None:
                plan = replace(
                    plan,
                    environment=environment,
                    after_run=int(latest_run["id"]) if latest_run else None,
                )
            plan = guarded(plan, config, in_force, environment)
            if in_force is not None and in_force.guardrails is not None:
                # the guardrail in force holds too, until a change to it is applied
                enforce(
                    check_guardrails(
                        (o.change for o in plan.orders), snapshot, in_force.guardrails
                    ),
                    allow_mass_changes,
                )
            plan = _first_in(environment, others, lender, nearby[0] if nearby else None, plan)
            if unjudged and not nearby and store is not None and store.named_by_repository(root):
                plan = replace(plan, warnings=(_nothing_on_record(environment), *plan.warnings))
            return plan


def _nothing_on_record(environment: str) -> str:
    """The first plan against a store the repository names (``store:``) that holds no
    review policies: said first, since a change can point ``store:`` at a new database
    and be judged by the review policies it brings, as written."""
    return (
        f"no review policies are on record in the store accesshive.yaml names for "
        f"'{environment}': the repository's are trusted as written (its review rules, "
        "reviewers and sensitive flags, this change's included), and this plan's apply "
        "puts them in force. If this environment has been applied before, its store was "
        "elsewhere: check that this change does not move `store:`"
    )


def _first_in(
    environment: str, others: list[str], lender: str | None, nearby: str | None, plan: Plan
) -> Plan:
    """A plan for an environment with no review policies on record, in a store where
    others have some (or in a store with none, beside one of the repository's stores
    with some): until its first complete apply it is judged by the policies in force it
    borrows (the latest put in force, ``lender``) as well as the repository's, since a
    change could have added the environment, made it the default, or pointed ``store:``
    at a new file, to escape the policies in force. Said first, so reviewers see it; the
    repository's first store says nothing. ``nearby``: the other store of the repository
    the policies come from, when this store has none on record at all."""
    if nearby is not None:
        said = (
            f"no review policies are on record in this store yet, and the repository's "
            f"store of {nearby} has some: until an apply completes a plan here, changes "
            f"in '{environment}' are judged by those as well as the repository's"
        )
    elif not others or environment in others:
        return plan
    else:
        said = (
            f"no review policies are in force in '{environment}' yet (this store has "
            f"some for {', '.join(others)}): until its first complete apply, its changes "
            f"are judged by the policies in force in '{lender}' as well as the repository's"
        )
    return replace(plan, warnings=(said, *plan.warnings))


def as_the_store_knows(
    opened: Store,
    config: Config,
    snapshot: Snapshot,
    found: Changes,
    snapshot_file: Path | None = None,
) -> Changes:
    """What diff found, less what the store knows is done: accounts accesshive created
    itself are not adopted, and work on manual sources whose task was done is not asked
    again. ``plan`` and apply's re-plan (``apply/stale.py``) both go through it: apply
    refuses a plan lacking an order its re-plan gives, so the two must agree."""
    if found.adoptions:
        found = not_adopting_our_own(opened, found)
    return without_done_tasks(opened, config, snapshot, found, snapshot_file)


def not_adopting_our_own(opened: Store, found: Changes) -> Changes:
    """Drop from the adoptions the accounts accesshive created itself: an account found
    by correlation whose identity's create order on that source was verified (or whose
    manual task was done). A create order's id names only its source and identity, so
    the one that made the account is found whatever attributes it had."""
    creates = {
        a: Change(
            OrderKind.CREATE_ACCOUNT,
            a.source,
            a.identity,
            details={"account_kind": a.account_kind} if a.account_kind != DEFAULT_KIND else {},
        ).order_id()
        for a in found.adoptions
    }
    ours = opened.done_orders(set(creates.values()))
    if not ours:
        return found
    return replace(found, adoptions=tuple(a for a in found.adoptions if creates[a] not in ours))


def without_done_tasks(
    opened: Store,
    config: Config,
    snapshot: Snapshot,
    found: Changes,
    snapshot_file: Path | None = None,
) -> Changes:
    """Drop the changes on manual sources whose task was done since the source's export
    was first read as it is now (``tasks.done_since_read``): plan does not ask for that
    work again. A snapshot file given: since it was read. ``plan``, ``report`` and the
    console all plan through it, so that they agree with ``status`` on a task marked
    done."""
    manual = {sid for sid, s in config.sources.items() if s.effective_provisioning == "manual"}
    if not any(c.source in manual for c in found.changes):
        return found
    done = opened.tasks("verified")
    if not done:
        return found
    read_at = (
        {sid: snapshot.source(sid).read_at or "" for sid in manual}
        if snapshot_file
        else opened.unchanged_since(manual)
    )
    return done_since_read(found, done, read_at, manual)


def manual_task_records(
    opened: Store, config: Config, desired: DesiredState
) -> dict[str, TaskRecord] | None:
    """What the store's manual tasks say of the accounts leavers hold on manual sources
    (``plan/known_accounts.py``: the account a task created that no export shows yet
    still gets its leaver task). None when no leaver has an account on a manual source:
    nothing is read then."""
    leavers = leavers_on_manual_sources(config, desired)
    if not leavers:
        return None
    tasks = {t.order_id: t for t in opened.tasks("open", "verified")}
    # only the leavers a create task was made for can hold an account the export lacks:
    # the ids of their other steps are worked out for those alone
    made = [want for want in leavers if create_order_id(want) in tasks]
    ids = {oid for want in made for oid in task_order_ids(config, want)}
    return {
        oid: TaskRecord(tasks[oid].state, tasks[oid].done_at or "")
        for oid in sorted(ids)
        if oid in tasks
    }


def record_plan(
    root: Path, plan: Plan, store: StoreRef, actor: str, text: str | None = None
) -> None:
    """Keep a saved plan in the store and audit it (only where a store already exists);
    ``text``: ``dumps(plan)`` when the caller has it."""
    if not store.exists(root):
        return
    with store.open(root) as opened:
        opened.save_plan(plan.digest, plan.config_digest, text or dumps(plan))
        details = {"summary": plan.summary(), "author": plan.author}
        opened.audit(actor, "plan_made", plan.digest, details)
