"""Commands that execute orders and report on them: ``apply``, ``status`` and ``retry``.

Why together: all three run or read the apply runs of one environment, and share the
rendering of an apply's outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from accesshive.cli._options import (
    actor,
    as_date,
    dir_option,
    format_option,
    handles_errors,
    hints_point_at,
    runnable,
    store_options,
    tell_notifications,
    today_option,
)
from accesshive.errors import EXIT_ERROR, EXIT_WAITING

if TYPE_CHECKING:
    from accesshive.apply.executor import ApplyResult
    from accesshive.operations import Loaded
    from accesshive.operations.status import Step
    from accesshive.plan.model import Plan
    from accesshive.plan.orders import Order


@click.command()
@click.argument("target", required=False, type=click.Path(path_type=Path), default=None)
@dir_option()
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Plan and apply in one go (TARGET is the config repository, not a plan file).",
)
@click.option(
    "--workers",
    is_flag=True,
    help="Run the orders on `accesshive worker` processes sharing the PostgreSQL store, "
    "and wait for them (default: in this process).",
)
@click.option(
    "--takeover-after",
    type=click.FloatRange(0.5, 3600),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="With --workers: a worker silent this long is taken as dead, its jobs given to "
    "another (longer than the workers' --heartbeat).",
)
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
    from accesshive.plan.planfile import read_plan
    from accesshive.plan.states import DONE, FAILED, SENT, OrderState
    from accesshive.workers.engine import Workers

    store = StoreRef(environment, store_url)
    loaded: Loaded | None = None  # a saved plan: apply loads the repository to check it
    if target is not None and target.is_file():
        if auto_approve:
            raise click.UsageError(
                f"--auto-approve plans and applies a repository; '{target}' is a plan file "
                "(apply it without --auto-approve)"
            )
        saved = read_plan(target)
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

    if workers and fmt == "text":
        click.echo(
            f"apply: the orders run on `accesshive worker` processes of environment "
            f"{store.name(directory)}'s store; waiting for them",
            err=True,
        )
    with bar if live else _nothing():
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
    plan_file = target if target is not None and target.is_file() else None
    _report_run(saved, result, fmt, plan_file)


def _report_run(saved: Plan, result: ApplyResult, fmt: str, plan_file: Path | None = None) -> None:
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
                },
                indent=2,
                sort_keys=True,
            )
        )
    else:
        _print_apply(saved, result, plan_file)
    tell_notifications(result.notifications)
    if result.failed:
        sys.exit(EXIT_ERROR)
    if result.status != "complete":
        sys.exit(EXIT_WAITING)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _print_apply(saved: Plan, result: ApplyResult, plan_file: Path | None) -> None:
    from accesshive.plan.kinds import OrderKind
    from accesshive.plan.states import FAILED, OrderState
    from accesshive.render.describe import summary_line

    counts = Counter(result.states.values())
    parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    targeted = ""
    if result.targeted:
        targeted = " (targeted: " + ", ".join(f"{k} {v}" for k, v in result.targeted.items()) + ")"
    click.echo(
        f"Apply run {result.run_id} of plan {result.plan_digest[:16]}{targeted}: "
        f"{result.status} ({parts})"
    )
    for order in saved.orders:
        state = result.states.get(order.id, "")
        if (
            state in FAILED
            or state == OrderState.AWAITING_APPROVAL
            or (state == OrderState.PENDING and order.id in result.messages)
            or (state == OrderState.TRANSMITTED and order.kind == OrderKind.MANUAL_TASK)
        ):
            message = runnable(result.messages.get(order.id, ""))
            click.echo(f"  {state:<18} {summary_line(order)}  [{order.id}]\n{'':<20}{message}")
    if result.tasks:
        click.echo(
            f"{len(result.tasks)} manual task(s) for source owners: "
            + runnable("`accesshive tasks list --format markdown`")
        )
    if result.declined:
        click.echo(f"Declined by reviewers, not applied ({len(result.declined)}):")
        for oid, why in result.declined.items():
            click.echo(f"  {oid}  {summary_line(saved.order(oid))}: {why}")
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
    waiting = sorted(oid for oid, st in result.states.items() if st == "awaiting_approval")
    if waiting and plan_file is None:  # a retry's plan: no file a reviewer could approve
        click.echo(
            "Waiting for approval, with none carried from an applied plan of the same "
            f"order ({len(waiting)}): {', '.join(waiting)}. To have them approved:"
        )
        click.echo("  " + runnable("`accesshive plan --out plan.json`"))
        click.echo(
            "  "
            + runnable(
                "`accesshive approve plan.json --order "
                + " --order ".join(waiting)
                + " --key ~/.ssh/id_ed25519`"
            )
        )
        scope = sorted({saved.order(oid).change.identity or "" for oid in waiting} - {""})
        only = f" --identity {shlex.quote(scope[0])}" if len(scope) == 1 else ""
        click.echo("  " + runnable(f"`accesshive apply plan.json{only}`"))
    if result.failed:
        _print_sources(saved, result)


def _print_sources(saved: Plan, result: ApplyResult) -> None:
    """Per source: its orders' states, and why it was unreachable; what to do next."""
    click.echo("Sources:")
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
            f"Unreachable: {down}. Run apply again once it is back: what is verified is not "
            "repeated, the rest is sent."
        )


def _print_steps(steps: Sequence[Step]) -> None:
    from accesshive.render.describe import summary_line

    for step in steps:
        at = step.at or "-"
        click.echo(f"  {step.state:<18} {at:<25} {summary_line(step.order)}  [{step.order.id}]")
        if step.message:  # a target's or apply's message may say what to run: runnable
            click.echo(f"  {'':<18} {'':<25} {runnable(step.message)}")


@click.command()
@click.argument("words", nargs=-1, metavar="[DIR] [IDENTITY]")
@dir_option()
@click.option(
    "--identity",
    "-i",
    default=None,
    metavar="ID",
    help="Show each step of this identity's flow: state, time, target message, order id "
    "(the same as the argument IDENTITY).",
)
@format_option("text", "json")
@today_option
@store_options
@handles_errors
def status(
    words: tuple[str, ...],
    directory: Path,
    identity: str | None,
    fmt: str,
    today: dt.datetime | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Provisioning status per identity (pending, provisioned, error, declined); with an
    IDENTITY, each step of its flow (state, time, message, order id).

    DIR is the config repository (or -C DIR; default: the current directory). A single
    argument is the repository when it is a path (., anything with a /), a directory
    holding accesshive.yaml, or given outside any repository; otherwise an identity id:
    `status examples/quickstart`, `status grace.hopper` (in the repository) and `status
    examples/quickstart grace.hopper` all do what they say.
    """
    directory, identity = _status_subject(words, directory, identity)
    from accesshive.operations import StoreRef, identity_status

    statuses = identity_status(
        directory, StoreRef(environment, store_url, create=False), as_date(today)
    )
    history: tuple[Step, ...] = ()
    if identity is not None:
        known = [s.identity for s in statuses]
        statuses = [s for s in statuses if s.identity == identity]
        if not statuses:
            from accesshive.config.structure import naming

            raise click.UsageError(naming("identity", identity, known))
        from accesshive.operations.history import identity_history

        # what earlier runs did for it, beside what is left: the steps done no longer
        # appear in its current flow (the targets match them)
        current = {step.order.id for step in statuses[0].steps}
        history = tuple(
            step
            for step in identity_history(
                directory, StoreRef(environment, store_url, create=False), identity
            )
            if step.order.id not in current
        )
    from accesshive.reports.waiting import describe, of_steps

    if fmt == "json":
        rows = [
            {**s.to_json(), "waiting_on": [w.to_json() for w in of_steps(s.outstanding)]}
            for s in statuses
        ]
        if identity is not None:
            rows[0]["history"] = [step.to_json() for step in history]
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return
    colours = {"provisioned": "green", "pending": "yellow", "error": "red", "declined": "magenta"}
    for s in statuses:
        waiting = describe(of_steps(s.outstanding)) if s.outstanding else ""
        extra = f"  ({len(s.outstanding)} outstanding{waiting})" if s.outstanding else ""
        click.secho(f"{s.status:<12} {s.identity}{extra}", fg=colours[s.status])
        if identity is None:
            continue
        if not s.steps:
            click.echo("  every step of its desired state is done")
        _print_steps(s.steps)
        from accesshive.plan.states import DONE

        # a step of an earlier flow that never finished (a leaver's grant still waiting
        # when the person left, a cancelled task) is not "done": it is listed apart
        done = tuple(h for h in history if h.state in DONE)
        earlier = tuple(h for h in history if h not in done)
        if done:
            click.echo("  already done:")
            _print_steps(done)
        if earlier:
            click.echo("  earlier steps, no longer in its current flow:")
            _print_steps(earlier)


def _status_subject(
    words: tuple[str, ...], directory: Path, identity: str | None
) -> tuple[Path, str | None]:
    """The repository and identity `status` was given: ``[DIR] [IDENTITY]``, where one
    argument alone is the repository if it is a directory holding ``accesshive.yaml``
    (what the README writes), a path (``.``, anything with a ``/``: ids hold none) or
    given outside any repository (without -C, from a directory without
    ``accesshive.yaml``), and an identity id otherwise (`-C .` or `--identity` settle the
    rare id that is also such a directory's name)."""
    ctx = click.get_current_context()
    dir_given = ctx.get_parameter_source("directory") is ParameterSource.COMMANDLINE
    if len(words) > 2:
        raise click.UsageError(
            f"status takes at most a repository and an identity, got {len(words)} arguments: "
            + " ".join(shlex.quote(w) for w in words)
        )
    repository: str | None = None
    named: str | None = None
    if len(words) == 2:
        repository, named = words
    elif len(words) == 1:
        word = words[0]
        outside = not dir_given and not (directory / "accesshive.yaml").is_file()
        if (
            outside
            or "/" in word
            or word in (".", "..")
            or (Path(word) / "accesshive.yaml").is_file()
        ):
            repository = words[0]
        else:
            named = words[0]
    if repository is not None:
        if dir_given:
            raise click.UsageError(f"give the repository once: '{repository}' or -C '{directory}'")
        if not Path(repository).is_dir():
            raise click.BadParameter(f"'{repository}' is not a directory", param_hint="DIR")
        directory = Path(repository)
        hints_point_at(directory)
    if named is not None:
        if identity is not None and identity != named:
            raise click.UsageError(f"give the identity once: '{named}' or --identity '{identity}'")
        identity = named
    return directory, identity


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
    _report_run(plan, result, fmt)
