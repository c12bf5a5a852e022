"""Operations that execute a plan: apply (refusing a stale plan, recording and auditing
every order) and the retry of one identity's remaining steps. The provisioning status
per identity is ``operations/status.py``."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from accesshive.apply.executor import DONE, ApplyResult
from accesshive.apply.executor import Progress as ApplyProgress
from accesshive.apply.stale import Staleness, check_stale
from accesshive.approvals.declines import Decline
from accesshive.approvals.declines import describe as describe_declines
from accesshive.approvals.model import OrderApproval
from accesshive.approvals.operations import check as check_approvals
from accesshive.approvals.operations import check_declines
from accesshive.config import Config
from accesshive.config.structure import naming
from accesshive.errors import (
    ForgedPlanError,
    PlanError,
    StalePlanError,
    StoreError,
)
from accesshive.operations._common import Loaded, StoreRef, load_and_expand
from accesshive.operations.notifying import after_apply
from accesshive.operations.planning import (
    as_the_store_knows,
    manual_task_records,
    plan_repository,
)
from accesshive.operations.promotion import require_promotion
from accesshive.operations.refresh import read_into, refresh
from accesshive.operations.targeting import Target
from accesshive.pipeline import load_config
from accesshive.plan.gates import called, gate_for, guarded, known
from accesshive.plan.model import POLICY_CHANGE, Plan
from accesshive.plan.orders import Order
from accesshive.plan.planfile import dumps
from accesshive.plan.states import OrderState as _S
from accesshive.policies_in_force import PoliciesInForce, differing
from accesshive.policy_change import policy_change
from accesshive.repo_paths import link_out_of
from accesshive.store import Store, Task
from accesshive.tasks import tasks_csv, tasks_markdown
from accesshive.workers.engine import Workers, executor_for, prepare_queue


def apply_plan(
    root: Path,
    plan: Plan,
    store: StoreRef,
    today: dt.date,
    actor: str,
    progress: ApplyProgress | None = None,
    approved: frozenset[str] = frozenset(),
    loaded: Loaded | None = None,
    sleep: Callable[[float], None] | None = None,
    workers: Workers | None = None,
    target: Target | None = None,
    part: Callable[[Plan], Plan] | None = None,
) -> ApplyResult:
    """Execute exactly ``plan``: refuse it if stale, then run, record and audit every order.

    ``loaded``: the repository already loaded and expanded (by the plan just made).
    A source that cannot be read at the start gets none of its orders sent (they are
    ``errored``); the others run. ``sleep``: the retries' wait (tests count it).
    ``workers``: the orders run on ``accesshive worker`` processes (PostgreSQL store
    only), everything else as without (``workers/dispatch.py``). ``target``: run only
    the orders of one source and/or identity (``Target``), recorded and audited as such.
    ``part``: how ``plan`` was cut from the repository's whole plan, when not by its
    scope alone (a leaver's immediate orders): the re-plan is cut so too, and the plan
    must hold every order of that cut (``apply/omissions.py``)."""
    queue = prepare_queue(store.location(root)) if workers is not None else None
    config, desired = loaded or load_and_expand(root, today, store.environment)
    if config.digest != plan.config_digest:
        raise StalePlanError(
            f"the configuration changed since this plan was made (plan for config "
            f"{plan.config_digest[:12]}, repository now {config.digest[:12]}); plan again"
        )
    if target is not None:
        target.check(config, plan)
    _refuse_runs_link(root)  # before anything runs, not once it has
    with store.open(root) as opened, opened.lock(actor):
        if plan.environment is not None and plan.environment != opened.environment:
            raise StalePlanError(
                f"this plan was made for environment '{plan.environment}', and this apply "
                f"is in '{opened.environment}': its approvals were given for "
                f"'{plan.environment}'. Apply it with --env {plan.environment}, or plan "
                f"again with --env {opened.environment}"
            )
        require_promotion(config, opened)
        opened.save_plan(plan.digest, plan.config_digest, dumps(plan))
        prior = opened.order_states(plan.digest)
        done = {oid for oid, s in prior.items() if s.state in DONE}
        in_force = differing(config, opened.policies_in_force())
        verdicts = check_approvals(config, plan, opened)
        approved = approved | {oid for oid, v in verdicts.items() if v.approved}
        declines = {
            oid: held
            for oid, held in check_declines(config, plan, opened).items()
            if oid not in done
        }
        staleness = check_stale(
            config,
            desired,
            plan,
            done,
            opened.latest_snapshot_and_fingerprints,
            today,
            known_tasks=manual_task_records(opened, config, desired),
            guard=lambda fresh: guarded(fresh, config, in_force, opened.environment),
            part=part,
            known=lambda found, snapshot: as_the_store_knows(opened, config, snapshot, found),
            desired_on=lambda day: load_and_expand(root, day, store.environment)[1],
        )
        _refuse_if_stale(opened, plan, staleness, actor)
        unreadable = {
            sid: f"could not read {sid} to check the plan is current: {message}"
            for sid, message in staleness.unreadable.items()
        }
        run_id = opened.start_run(plan.digest, actor, _limited_to(plan, target))
        opened.audit(
            actor,
            "apply_started",
            plan.digest,
            {
                "run": run_id,
                "approved": {oid: v.approvers for oid, v in sorted(verdicts.items()) if v.approved},
                # sources that could not be read: none of their orders is sent
                **({"unreadable": unreadable} if unreadable else {}),
                # declined orders: not applied; what depends on them is blocked
                **({"declined": _declined_details(declines)} if declines else {}),
                # a targeted run (apply --source/--identity): only these orders run
                **({"targeted": target.details()} if target is not None else {}),
            },
        )
        for oid, verdict in sorted(verdicts.items()):
            if verdict.approved and verdict.carried:  # approvals signed for an earlier plan
                opened.audit(
                    actor,
                    "approval_carried",
                    oid,
                    {
                        "plan": plan.digest,
                        "run": run_id,
                        "approvals": [{"reviewer": r, "signed_for": d} for r, d in verdict.carried],
                    },
                )
        for oid, who in _declined_details(declines).items():
            opened.audit(
                actor, "order_declined", oid, {"plan": plan.digest, "run": run_id, "declines": who}
            )

        def execute() -> ApplyResult:  # built inside the recorded run
            kind, remote = executor_for(queue, workers)
            return kind(
                config,
                plan,
                opened,
                run_id,
                approved=approved,
                inactive=staleness.inactive,
                accounts=staleness.accounts,
                approval_notes={oid: v.describe() for oid, v in verdicts.items()},
                progress=progress or (lambda o, s, m: None),
                unreachable=unreadable,
                sleep=sleep or time.sleep,
                declined={oid: describe_declines(held) for oid, held in declines.items()},
                only=None if target is None else {o.id for o in plan.orders if target.keeps(o)},
                **remote,
            ).run()

        result = _run_recorded(execute, opened, plan, run_id, actor, target)
        result.policy_change, result.first_reviewers = _put_policies_in_force(
            config, opened, plan, frozenset(approved), actor, verdicts.get(POLICY_CHANGE)
        )
        refresh(config, opened, plan, result, staleness)
        if result.tasks:
            _write_task_files(root, run_id, result.tasks)
        result.notifications = after_apply(config, opened, plan, result, actor)
        return result


COMPLETE = frozenset(s.value for s in (_S.TRANSMITTED, _S.EXECUTED, _S.VERIFIED, _S.INACTIVE))
"""The states an order reaches only past its review gate (a task handed to its person
counts: the rest is theirs): a plan whose orders all reached one was applied."""


def _put_policies_in_force(
    config: Config,
    store: Store,
    plan: Plan,
    approved: frozenset[str],
    actor: str,
    verdict: OrderApproval | None,
) -> tuple[str | None, bool]:
    """Once every order of ``plan`` is past its review (``COMPLETE``, or held only by
    what it depends on, ungated or approved, and gated as the repository's policies
    alone gate it), its review policies are the ones in force
    (``policies_in_force``), audited when they change; also when none are on record yet
    (the environment's first apply). Never before: an order left awaiting the approval
    the policies in force ask for, or declined, keeps them in force; nor by a partial
    plan (``retry``), which leaves the rest of the repository's change unapplied; nor
    while what the change adds to or loosens in them waits for their approval
    (``policy_change``, computed here from the store: ``verdict`` is its approvals').
    Returns why the change's policies are not put in force when that is what waits, and
    whether they were the first to name reviewers (none in force before)."""
    on_record = store.policies_in_force()
    states = store.order_states(plan.digest)
    now = PoliciesInForce.of(config)

    def as_now(o: Order) -> bool:
        """The order is what the repository's policies alone make of it: held orders
        that the policies in force gated more stay so until they run (else the next
        apply of this plan would find them not what planning gives)."""
        c = o.change
        sensitive = bool(c.entitlement) and any(
            now.sensitive(c.source, n) for n in called(config, c.source, c.entitlement or "")
        )
        return o.gate == gate_for(c, config.policies.review, o.kind, *known(config, c)) and (
            not c.sensitive or sensitive
        )

    # while the policies in force name no reviewer, nobody can approve a gated order: it
    # waits for the reviewers the change brings, who count once it is applied (else the
    # first reviewers could never be put in force: the quickstart's dead end)
    nobody = on_record is not None and not PoliciesInForce.from_text(on_record).review.reviewers

    def past_review(o: Order) -> bool:
        state = states[o.id].state if o.id in states else None
        return (
            state in COMPLETE
            or (state == _S.PENDING.value and (o.gate is None or o.id in approved) and as_now(o))
            or (nobody and state == _S.AWAITING_APPROVAL.value)
        )

    complete = plan.scope is None and all(past_review(o) for o in plan.orders)
    change = policy_change(config, differing(config, on_record)) if plan.scope is None else None
    waits = None
    if change is not None and POLICY_CHANGE not in approved:
        # said whether the orders are done or not: a reviewer approving the orders must
        # know the policy change waits for them too
        waits = (
            f"the review policies this change brings are not put in force: what it adds to "
            f"or loosens in the policies in force ({'; '.join(change.loosens)}) "
            + (verdict.describe() if verdict is not None else f"needs {change.gate.wanted()}")
            + f" (the order {POLICY_CHANGE}); the policies in force judge the next plan too"
        )
    if not complete and on_record is not None:
        return waits, False
    if change is not None and waits is not None:
        store.audit(
            actor,
            "policy_change_waiting",
            plan.digest,
            {"in_force": change.in_force, "proposed": change.proposed},
        )
        return waits, False
    with store.transaction():  # the record and its audit entry, together or not at all
        if not store.record_policies_in_force(now.digest, now.text(), plan.digest):
            return None, False
        store.audit(
            actor,
            "policies_in_force",
            plan.digest,
            {
                "digest": now.digest,
                "previous": None
                if on_record is None
                else PoliciesInForce.from_text(on_record).digest,
                # who approved what the change added to or loosened in them
                **({} if change is None else {"approved_by": verdict.approvers if verdict else []}),
            },
        )
    return None, nobody and bool(now.review.reviewers)


def _declined_details(declines: Mapping[str, list[Decline]]) -> dict[str, list[dict[str, Any]]]:
    """Who declined each order, why, when, and from where: what the audit log keeps."""
    return {
        oid: [
            {
                "reviewer": d.reviewer,
                "reason": d.reason,
                "at": d.signed_at,
                "via": d.via,
                "evidence": d.evidence,
                "signed_for": d.plan_digest,
            }
            for d in held
        ]
        for oid, held in sorted(declines.items())
    }


def decline_verdicts(root: Path, plan: Plan, store: StoreRef) -> dict[str, list[Decline]]:
    """Per declined order of ``plan``: the declines that hold (the repository's approvals
    files, and declines recorded from GitHub when the store exists). Reads only: what
    ``approvals verify`` and the PR comment show."""
    config = load_config(root, store.environment)
    if not store.exists(root):
        return check_declines(config, plan, None)
    with store.open(root) as opened:
        return check_declines(config, plan, opened)


def approval_verdicts(root: Path, plan: Plan, store: StoreRef) -> dict[str, OrderApproval]:
    """Per gated order of ``plan``: who approved it (the repository's approvals file, and
    approvals recorded from GitHub when the store exists), what is missing, what does not
    count. Reads only: what ``approvals verify`` and the PR comment show."""
    config = load_config(root, store.environment)
    if not store.exists(root):
        return check_approvals(config, plan, None)
    with store.open(root) as opened:
        return check_approvals(config, plan, opened)


def _refuse_if_stale(store: Store, plan: Plan, staleness: Staleness, actor: str) -> None:
    """Keep what the live read saw; refuse (audited) a plan whose orders would now differ,
    or that is not what planning gives (forged: nothing of it runs)."""
    for sid, live in sorted(staleness.live.items()):
        store.save_snapshot(sid, live)
    if staleness.forged:
        store.audit(actor, "apply_refused", plan.digest, {"forged": staleness.forged})
        raise ForgedPlanError(
            "the plan is not what `accesshive plan` makes from this repository and the "
            "snapshot it was made from, so nothing of it is applied:\n  "
            + "\n  ".join(staleness.forged)
            + "\nOrders, their dependencies, review gates and sensitivity come from the "
            "repository, its policies and the snapshot, never from the plan file. Plan "
            "again, and apply the file `plan` wrote, unedited."
        )
    if staleness.problems:
        store.audit(actor, "apply_refused", plan.digest, {"problems": staleness.problems})
        why = (
            ", ".join(staleness.changed_sources) + " changed since it was made"
            if staleness.changed_sources
            else f"it was planned for {staleness.planned_on_another_day}, and what is due "
            "changes with the date"
            if staleness.planned_on_another_day
            else "the store changed since it was made"
        )
        raise StalePlanError(
            f"the plan is stale: {why}, and its orders would now differ:\n  "
            + "\n  ".join(staleness.problems)
            + ("\nSync and plan again." if staleness.changed_sources else "\nPlan again.")
        )


def _limited_to(plan: Plan, target: Target | None) -> dict[str, str] | None:
    """What the run is kept as limited to: the orders of ``apply --source/--identity``,
    or a plan of some identities only (``retry``), which ``state show`` says."""
    if target is not None:
        return target.details()
    if plan.scope is not None:
        return {"plan_of": ", ".join(plan.scope)}
    return None


def _run_recorded(
    execute: Callable[[], ApplyResult],
    store: Store,
    plan: Plan,
    run_id: int,
    actor: str,
    target: Target | None = None,
) -> ApplyResult:
    """Run the executor; the run's end is recorded and audited whatever happens."""
    result: ApplyResult | None = None
    try:
        result = execute()
        if target is not None:
            result.targeted = target.details()
        return result
    finally:
        status = result.status if result else "crashed"
        store.finish_run(run_id, status)
        counts = dict(Counter(result.states.values())) if result else {}
        store.audit(
            actor,
            "apply_finished",
            plan.digest,
            {
                "run": run_id,
                "status": status,
                "states": counts,
                **({"unreachable": result.unreachable} if result and result.unreachable else {}),
                **({"targeted": target.details()} if target is not None else {}),
            },
        )


def _refuse_runs_link(root: Path) -> None:
    """The runs' task files go under ``.accesshive/runs/``; a link there out of the
    repository is refused before the run, rather than found after it has acted."""
    found = link_out_of(root, root / ".accesshive" / "runs")
    if found:
        raise StoreError(
            f"{found[0]} is a symbolic link out of the repository (to {found[1]}): a run's "
            "task files are written only inside it; remove the link (nothing was applied)"
        )


def _write_task_files(root: Path, run_id: int, tasks: list[Task]) -> Path:
    out = root / ".accesshive" / "runs" / str(run_id)
    for name in ("tasks.csv", "tasks.md"):
        found = link_out_of(root, out / name)
        if found:
            raise StoreError(
                f"{found[0]} is a symbolic link out of the repository (to {found[1]}): "
                "the task files are written only inside it, so they were not written; the "
                "run and its tasks are recorded in the store (`accesshive tasks list`); "
                "remove the link"
            )
    out.mkdir(parents=True, exist_ok=True)
    (out / "tasks.csv").write_text(tasks_csv(tasks), encoding="utf-8")
    (out / "tasks.md").write_text(tasks_markdown(tasks, root), encoding="utf-8")
    return out


def retry_identity(
    root: Path,
    identity: str,
    store: StoreRef,
    today: dt.date,
    actor: str,
    progress: ApplyProgress | None = None,
) -> tuple[Plan, ApplyResult] | None:
    """Re-plan one identity against the current state and run its remaining steps: the
    identity's plan and its run, reported as an apply is.

    None when nothing is left to do for it.
    """
    loaded = load_and_expand(root, today, store.environment)
    config = loaded[0]
    if identity not in config.identities:
        raise PlanError(f"retry {identity}: {naming('identity', identity, config.identities)}")
    if store.exists(root):
        with store.open(root) as opened:
            automatic = {
                sid for sid, s in config.sources.items() if s.effective_provisioning != "manual"
            }
            read_into(config, opened, automatic)
    plan = plan_repository(root, today, store=store, loaded=loaded).for_identity(identity)
    if not plan.orders:
        return None
    return plan, apply_plan(root, plan, store, today, actor, progress, loaded=loaded)
