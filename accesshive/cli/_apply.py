"""Commands that execute orders: ``apply`` and ``retry``.

Why together: both run orders and end the same way, by printing the run's outcome
(``_report_run``: what failed, waits or was declined, and what to run next) and exiting
with its status. ``status``, which reads the runs without running anything, is
``_status``'s.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from accesshive.cli._options import (
    actor,
    as_date,
    format_option,
    handles_errors,
    store_options,
    tell_notifications,
    today_option,
    workers_options,
)
from accesshive.cli._plan_files import plan_again, read_saved
from accesshive.cli._repository import (
    PLAN_REPOSITORY_HELP,
    dir_option,
    hints_point_at,
    runnable,
)
from accesshive.errors import EXIT_ERROR, EXIT_WAITING

if TYPE_CHECKING:
    from accesshive.apply.executor import ApplyResult
    from accesshive.operations import Loaded
    from accesshive.plan.model import Plan
    from accesshive.plan.orders import Order


@click.command()
@click.argument("target", required=False, type=click.Path(path_type=Path), default=None)
@dir_option(PLAN_REPOSITORY_HELP)
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Plan and apply in one go (TARGET is the config repository, not a plan file). "
    "Approves nothing: gated orders still wait for their reviewers' approvals (signed "
    "with accesshive approve on a saved plan); apply then exits 6 and prints the "
    "commands that get them.",
)
@workers_options("Run the orders")
@click.option(
    "--source",
    "only_source",
    metavar="NAME",
    default=None,
    help="Run only the plan's orders of this source (the whole plan is still checked); "
    "what they depend on must be done already, else they are held.",
)
@click.option(
    "--identity",
    "only_identity",
    metavar="ID",
    default=None,
    help="Run only the plan's orders of this identity (with --source: of both).",
)
@format_option("text", "json")
@today_option
@store_options
@handles_errors
def apply(
    target: Path | None,
    directory: Path,
    auto_approve: bool,
    workers: bool,
    takeover_after: float,
    only_source: str | None,
    only_identity: str | None,
    fmt: str,
    today: dt.datetime | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Execute exactly a saved plan: retry, verify, record; resume after a crash.

    Gated orders run only when approved; what depends on them waits. With --workers, the
    orders run on `accesshive worker` processes (PostgreSQL store only). With --source
    or --identity, only that part of the plan runs (a targeted run, audited as such).
    """
    from accesshive.operations import StoreRef, apply_plan, load_and_expand, plan_repository
    from accesshive.operations.targeting import Target
    from accesshive.plan.states import DONE, FAILED, SENT, OrderState
    from accesshive.workers.engine import Workers, postgres_url

    store = StoreRef(environment, store_url)
    loaded: Loaded | None = None  # a saved plan: apply loads the repository to check it
    if target is not None and target.is_file():
        if auto_approve:
            raise click.UsageError(
                f"--auto-approve plans and applies a repository; '{target}' is a plan file "
                "(apply it without --auto-approve)"
            )
        saved = read_saved(target)
    else:
        if target is not None and not target.exists():
            raise click.BadParameter(f"'{target}' does not exist", param_hint="TARGET")
        if target is not None:
            directory = target
            hints_point_at(directory)
        if not auto_approve:
            raise click.UsageError(
                "give a saved plan (`accesshive plan --out plan.json`, then `accesshive "
                "apply plan.json`), or --auto-approve to plan and apply in one go"
            )
        loaded = load_and_expand(directory, as_date(today), store.environment)
        saved = plan_repository(directory, as_date(today), store=store, loaded=loaded)
    live = fmt == "text" and sys.stderr.isatty()
    bar = click.progressbar(
        length=len(saved.orders), label="applying", file=sys.stderr, show_pos=True
    )
    finished: dict[str, str] = {}

    def progress(order: Order, state: str, message: str | None) -> None:
        if not live or state == OrderState.PENDING or state in SENT:
            return
        first = order.id not in finished
        finished[order.id] = state
        counts = Counter(finished.values())
        bar.label = (
            f"verified {sum(counts[s] for s in DONE)}  failed "
            f"{sum(counts[s] for s in FAILED)}  waiting "
            f"{counts[OrderState.AWAITING_APPROVAL]}"
        )
        bar.update(1 if first else 0)

    if workers:  # refused before anything says the orders wait for workers
        postgres_url(store.location(directory))
    if workers and fmt == "text":
        click.echo(
            f"apply: the orders run on `accesshive worker` processes of environment "
            f"{store.name(directory)}'s store; waiting for them",
            err=True,
        )
    plan_file = target if target is not None and target.is_file() else None
    with (
        _terminate_as_interrupt(),
        bar if live else _nothing(),
        plan_again(plan_file) if plan_file else _nothing(),
    ):
        result = apply_plan(
            directory,
            saved,
            store,
            as_date(today),
            actor(),
            progress,
            loaded=loaded,
            workers=Workers(takeover_after) if workers else None,
            target=Target(only_source, only_identity) if only_source or only_identity else None,
        )
    _report_run(saved, result, fmt, plan_file, directory)


def _report_run(
    saved: Plan,
    result: ApplyResult,
    fmt: str,
    plan_file: Path | None = None,
    directory: Path | None = None,
) -> None:
    """What `apply` and `retry` print of a run, and the exit status it ends with."""
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "plan_digest": result.plan_digest,
                    "run": result.run_id,
                    "status": result.status,
                    "orders": {
                        oid: {"state": st, "message": result.messages.get(oid)}
                        for oid, st in sorted(result.states.items())
                    },
                    "tasks": [t.id for t in result.tasks],
                    "sources": result.by_source(saved),
                    "declined": result.declined,
                    "notifications": [o.to_json() for o in result.notifications],
                    "targeted": result.targeted,
                    "policy_change": result.policy_change,
                },
                indent=2,
                sort_keys=True,
            )
        )
    else:
        _print_apply(saved, result, plan_file, directory)
    tell_notifications(result.notifications)
    if result.failed:
        sys.exit(EXIT_ERROR)
    if result.status != "complete":
        sys.exit(EXIT_WAITING)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, ``kill``, ``timeout``) stops apply as Ctrl-C does: the
    run is recorded as crashed and audited, and the jobs it queued for workers are
    withdrawn, instead of the process vanishing with its run ``running`` for ever and
    its jobs left for a worker to run later with no apply to collect them."""
    import signal
    import threading

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set a handler (a caller running apply on a thread)
        return
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _print_apply(
    saved: Plan, result: ApplyResult, plan_file: Path | None, directory: Path | None
) -> None:
    from accesshive.plan.kinds import OrderKind
    from accesshive.plan.states import FAILED, OrderState
    from accesshive.render.describe import summary_line
    from accesshive.terminal_text import shown

    counts = Counter(result.states.values())
    parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    targeted = ""
    if result.targeted:
        targeted = " (targeted: " + ", ".join(f"{k} {v}" for k, v in result.targeted.items()) + ")"
    click.echo(
        f"Apply run {result.run_id} of plan {result.plan_digest[:16]}{targeted}: "
        f"{result.status}" + (f" ({parts})" if parts else " (no order to run)")
    )
    for order in saved.orders:
        state = result.states.get(order.id, "")
        if (
            state in FAILED
            or state == OrderState.AWAITING_APPROVAL
            or (state == OrderState.PENDING and order.id in result.messages)
            or (state == OrderState.TRANSMITTED and order.kind == OrderKind.MANUAL_TASK)
        ):
            message = runnable(shown(result.messages.get(order.id, "")))
            what = shown(summary_line(order))
            click.echo(f"  {state:<18} {what}  [{order.id}]\n{'':<20}{message}")
    if result.tasks:
        click.echo(
            f"{len(result.tasks)} manual task(s) for source owners: "
            + runnable("`accesshive tasks list --format markdown`")
        )
    if result.declined:
        click.echo(f"Declined by reviewers, not applied ({len(result.declined)}):")
        for oid, why in result.declined.items():
            click.echo(f"  {oid}  {shown(summary_line(saved.order(oid)))}: {shown(why)}")
        click.echo(
            "What depends on them is blocked. A decline holds for every plan of the same "
            "order content until the order changes or the reviewer withdraws it:"
        )
        plan = shlex.quote(str(plan_file)) if plan_file is not None else "plan.json"
        if plan_file is None:  # a withdrawal is signed against a plan file: make one
            click.echo("  " + runnable("`accesshive plan --out plan.json`"))
        for oid in result.declined:
            click.echo(
                "  "
                + runnable(
                    f"`accesshive decline {plan} --order {oid} --withdraw --key ~/.ssh/id_ed25519`"
                )
            )
    waiting = result.unapproved(saved)
    if waiting:
        _print_how_to_approve(saved, waiting, plan_file, directory, result.first_reviewers)
    if result.policy_change:
        _print_policy_change(result.policy_change, plan_file)
    if result.failed:
        _print_sources(saved, result)


def _any_approvals(directory: Path | None) -> bool:
    """Whether the repository holds approvals of earlier plans, which the user may
    expect to count here."""
    from accesshive.approvals.files import approvals_files
    from accesshive.errors import ApprovalError

    try:
        return directory is not None and bool(approvals_files(directory))
    except ApprovalError:  # a link out of the repository: refused where approvals are read
        return False


def _print_how_to_approve(
    saved: Plan,
    waiting: list[str],
    plan_file: Path | None,
    directory: Path | None,
    first_reviewers: bool = False,
) -> None:
    """What gets the orders that wait for approval approved: reviewers sign them in a plan
    file (made first when the run had none: ``--auto-approve``, ``retry``), then apply.
    Where the review policy declares no reviewer, that comes first: ``approve`` would
    refuse every key (the shipped policy gates sensitive grants and names no one)."""
    undeclared = _no_reviewer_in(directory) if directory is not None else None
    head = f"Waiting for approval ({len(waiting)}): {', '.join(waiting)}."
    plan = shlex.quote(str(plan_file)) if plan_file is not None else "plan.json"
    if first_reviewers and plan_file is not None:
        click.echo(
            f"{head} The reviewers this change declares are in force now (none were "
            "before), so approvals they signed of this plan count from its next apply: "
            "apply it again (reviewers who have not approved yet approve first):"
        )
        click.echo(
            "  "
            + runnable(
                f"`accesshive approve {plan} --order {' --order '.join(waiting)} "
                "--key ~/.ssh/id_ed25519`"
            )
            + " (if not approved yet)"
        )
        click.echo("  " + runnable(f"`accesshive apply {plan}`"))
        return
    if undeclared is not None:
        click.echo(
            f"{head} No reviewer is declared to approve them: list reviewers, with their "
            f"public keys, under review.reviewers in {undeclared} (README: 'Review gates "
            "and approvals'), then sign a saved plan:"
        )
    elif plan_file is None and _any_approvals(directory):
        click.echo(
            f"{head} No reviewer has approved them as they stand: an approval given in an "
            "earlier plan counts only for the identical order, once that plan was applied, "
            "and only while that order is not done (a retry, never a grant given again). "
            "To have them approved:"
        )
    elif plan_file is None:
        click.echo(f"{head} No reviewer has approved them yet. To have them approved:")
    else:
        click.echo(f"{head} To have them approved:")
    if plan_file is None:  # no file a reviewer could approve: one is made first
        click.echo("  " + runnable("`accesshive plan --out plan.json`"))
    orders = " --order ".join(waiting)
    click.echo(
        "  " + runnable(f"`accesshive approve {plan} --order {orders} --key ~/.ssh/id_ed25519`")
    )
    scope = sorted({saved.order(oid).change.identity or "" for oid in waiting} - {""})
    only = f" --identity {shlex.quote(scope[0])}" if len(scope) == 1 else ""
    click.echo("  " + runnable(f"`accesshive apply {plan}{only}`"))


def _print_policy_change(why: str, plan_file: Path | None) -> None:
    """The run's orders may all be done, yet what the change adds to or loosens in the
    review policies waits for the reviewers of those in force: how to have it approved."""
    from accesshive.plan.model import POLICY_CHANGE
    from accesshive.policy_change import NONE_LEFT
    from accesshive.terminal_text import shown

    if NONE_LEFT in why:  # nobody could approve it: say what to change instead
        click.echo(
            f"Policy change not put in force: {shown(why)}. Keep at least one reviewer who "
            "can approve (not revoked, with a key) in the review policy, and plan again."
        )
        return
    click.echo(f"Policy change waiting for approval: {shown(why)}. To have it approved:")
    if plan_file is None:  # no file a reviewer could approve: one is made first
        click.echo("  " + runnable("`accesshive plan --out plan.json`"))
    plan = shlex.quote(str(plan_file)) if plan_file is not None else "plan.json"
    click.echo(
        "  "
        + runnable(f"`accesshive approve {plan} --order {POLICY_CHANGE} --key ~/.ssh/id_ed25519`")
    )
    click.echo("  " + runnable(f"`accesshive apply {plan}`"))


def _no_reviewer_in(directory: Path) -> str | None:
    """The review policy's file, as a path from here, when it declares no reviewer: an
    ``approve`` hint would then fail whatever key is given. None when reviewers are
    declared, or when the policy cannot be read again (the run read it; only the hint
    is lost)."""
    from accesshive.approvals.operations import review_policy_file
    from accesshive.config import load_config

    try:
        config = load_config(directory)
    except Exception:
        return None
    return None if config.policies.review.reviewers else review_policy_file(config)


def _print_sources(saved: Plan, result: ApplyResult) -> None:
    """Per source: its orders' states, and why it was unreachable; what to do next."""
    from accesshive.plan.states import OrderState

    click.echo("Sources:")
    down_ids = set(result.unreachable)
    summary = result.by_source(saved)
    width = max(len(sid) for sid in summary)
    for sid, entry in summary.items():
        states = entry["states"]
        assert isinstance(states, dict)
        counts = ", ".join(f"{n} {state}" for state, n in states.items())
        click.echo(f"  {sid:<{width}}  {entry['status']:<11}  {counts}")
        if entry["unreachable"]:
            click.echo(f"  {'':<{width}}  {entry['unreachable']}")
    if result.unreachable:
        down = ", ".join(sorted(result.unreachable))
        click.echo(
            f"Unreachable: {down}. Run apply again once it is back (what is verified is not "
            "repeated, the rest is sent):"
        )
        click.echo("  " + runnable(_again()))
    refused = sorted(
        {
            saved.order(oid).change.source
            for oid, state in result.states.items()
            if state == OrderState.ERRORED and saved.order(oid).change.source not in down_ids
        }
    )
    if refused:
        click.echo(
            f"Errored on {', '.join(refused)} (the target's messages are above). When the "
            "cause was on the target's side (an outage, a limit, a lock), run apply again: "
            "what is verified is not repeated, the rest is sent:"
        )
        click.echo("  " + runnable(_again()))
        click.echo(
            "When it was the change (a value the target refuses), fix it and plan again: "
            + runnable("`accesshive plan --out plan.json`")
        )


def _again() -> str:
    """The command that runs this run's orders again, as the user started it: ``apply
    PLAN`` (targeted as it was), ``apply --auto-approve``, or ``retry IDENTITY``."""
    ctx = click.get_current_context()
    p = ctx.params
    if ctx.info_name == "retry":
        return f"`accesshive retry {shlex.quote(str(p['identity']))}`"
    words = ["accesshive", "apply"]
    target = p.get("target")
    if target is not None and target.is_file():
        words.append(str(target))
    else:
        words.append("--auto-approve")
    for flag, name in (("--source", "only_source"), ("--identity", "only_identity")):
        if p.get(name):
            words += [flag, str(p[name])]
    return f"`{shlex.join(words)}`"


@click.command()
@click.argument("identity")
@dir_option()
@format_option("text", "json")
@today_option
@store_options
@handles_errors
def retry(
    identity: str,
    directory: Path,
    fmt: str,
    today: dt.datetime | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Re-plan one identity against the targets and re-run its failed or stuck steps."""
    from accesshive.operations import StoreRef, retry_identity

    retried = retry_identity(
        directory, identity, StoreRef(environment, store_url), as_date(today), actor()
    )
    if retried is None:
        if fmt == "json":
            click.echo(json.dumps({"identity": identity, "status": "nothing to retry"}))
        else:
            click.echo(f"{identity}: nothing to retry, every step is done")
        return
    plan, result = retried
    if fmt == "text":
        click.echo(f"Retry of {identity}:")
    _report_run(plan, result, fmt, None, directory)
