"""The ``accesshive`` command line: parse options, call one operation, render the result.

No business logic lives here. Errors: only ``AccessHiveError`` is caught (and
printed as ``Error: ...`` with its exit code); anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast, get_args

import click

from accesshive import __version__
from accesshive.apply.executor import ApplyResult
from accesshive.approvals.operations import check as check_approvals
from accesshive.approvals.operations import record_from_github, sign_approvals
from accesshive.audit.chain import verify_chain
from accesshive.audit.export import to_cef, to_jsonl
from accesshive.audit.forward import forward
from accesshive.config import load_config
from accesshive.config.schema import SchemaTarget, json_schema
from accesshive.diagnostics import Diagnostic
from accesshive.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_WAITING,
    AccessHiveError,
    ConfigError,
    SyncError,
)
from accesshive.imports.yaml_writer import YamlChanges
from accesshive.operations import (
    StoreRef,
    apply_plan,
    complete_task,
    create_scim_token,
    identity_status,
    import_csv,
    import_scim,
    list_tasks,
    plan_repository,
    promote,
    record_plan,
    report_repository,
    retry_identity,
    serve_scim,
    state_report,
    sync_repository,
    unlock,
    validate_repository,
)
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.plan.planfile import dumps, read_plan, write_plan
from accesshive.render import render_dot, render_markdown, render_mermaid, render_text
from accesshive.render.describe import summary_line
from accesshive.render.report import headline, render_report_html, render_report_markdown
from accesshive.tasks import tasks_csv, tasks_markdown
from accesshive.vault.operations import (
    init_key,
    list_secrets,
    put_secret,
    reveal_secret,
    rotate_master_key,
    vault_source,
)

F = TypeVar("F", bound=Callable[..., Any])

repo_argument = click.argument(
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    required=False,
)


def dir_option(help_text: str = "The config repository.") -> Callable[[F], F]:
    """-C/--dir: the config repository, for commands whose argument is something else."""
    return click.option(
        "-C",
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        default=".",
        help=help_text,
    )


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format (json is for machines).",
    )


def handles_errors(func: F) -> F:
    """Turn ``AccessHiveError`` into a message and an exit code; let bugs show tracebacks."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fmt = kwargs.get("fmt", "text")
            _print_diagnostics(exc.diagnostics, fmt, ok=False)
            sys.exit(exc.exit_code)
        except AccessHiveError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def _print_diagnostics(diagnostics: tuple[Diagnostic, ...], fmt: str, ok: bool) -> None:
    if fmt == "json":
        click.echo(
            json.dumps(
                {"ok": ok, "diagnostics": [d.to_json() for d in diagnostics]},
                indent=2,
                sort_keys=True,
            )
        )
        return
    for d in diagnostics:
        colour = "red" if d.is_error else "yellow"
        click.secho(d.render(), fg=colour, err=True)
    errors = sum(1 for d in diagnostics if d.is_error)
    if errors:
        click.secho(
            f"Error: {errors} problem{'s' if errors != 1 else ''} found; nothing was changed.",
            fg="red",
            err=True,
        )


today_option = click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Evaluate retention and rotation periods as of this date (default: today).",
)


def store_options(func: F) -> F:
    """--env and --store: which state store a command reads and writes."""
    func = click.option(
        "--store",
        "store_url",
        default=None,
        metavar="URL",
        help="State store: postgresql://... or a SQLite path (default .accesshive/ENV.db; "
        "env ACCESSHIVE_STORE).",
    )(func)
    return click.option(
        "--env",
        "environment",
        default=None,
        envvar="ACCESSHIVE_ENV",
        help="Environment (sandbox, production...; default: the project's default_environment).",
    )(func)


def _actor() -> str:
    return os.environ.get("ACCESSHIVE_ACTOR") or os.environ.get("GITHUB_ACTOR") or getpass.getuser()


def _today(value: dt.datetime | None) -> dt.date:
    return (value or dt.datetime.now()).date()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="accesshive")
def main() -> None:
    """accesshive: identity provisioning as code.

    Declare identities, roles, access profiles and lifecycle states in YAML;
    plan the provisioning orders against the real systems; apply exactly that plan.
    """


@main.command()
@repo_argument
@format_option("text", "json")
@today_option
@click.option(
    "--env",
    "environment",
    default=None,
    envvar="ACCESSHIVE_ENV",
    help="Validate as seen in this environment (its connection overlays).",
)
@handles_errors
def validate(directory: Path, fmt: str, today: dt.datetime | None, environment: str | None) -> None:
    """Check a config repository; exit 1 on any problem. Changes nothing."""
    result = validate_repository(directory, _today(today), environment)
    _print_diagnostics(result.diagnostics, fmt, ok=result.ok)
    if not result.ok:
        sys.exit(EXIT_ERROR)
    if fmt == "text" and result.config is not None:
        c = result.config
        click.secho(
            f"✓ {directory}: valid ({len(c.sources)} sources, {len(c.identities)} identities, "
            f"{len(c.roles)} roles, {len(c.access_profiles)} access profiles, "
            f"{len(c.files)} files)",
            fg="green",
        )


def _render_plan(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        click.echo(dumps(plan), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(plan), nl=False)
    else:
        click.echo(render_text(plan, style=click.style), nl=False)


@main.command()
@repo_argument
@click.option(
    "--snapshot",
    "snapshot_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Plan against this snapshot file (JSON/YAML) instead of the stored one.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan here.")
@format_option("text", "json", "markdown")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are, 1 on error.",
)
@click.option(
    "--allow-mass-changes",
    is_flag=True,
    help="Accept a plan that disables or deletes more accounts than the guardrail allows.",
)
@click.option(
    "--author",
    default=None,
    envvar="ACCESSHIVE_AUTHOR",
    help="Who proposes the change (the pull request's author); they cannot approve it.",
)
@today_option
@store_options
@handles_errors
def plan(
    directory: Path,
    snapshot_file: Path | None,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    allow_mass_changes: bool,
    author: str | None,
    today: dt.datetime | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Compute the provisioning orders that bring the targets to the configuration.

    Plans against the snapshot stored by the last `accesshive sync` (or --snapshot FILE).
    """
    result = plan_repository(
        directory,
        _today(today),
        snapshot_file,
        allow_mass_changes,
        StoreRef(environment, store_url),
        author,
    )
    if out is not None:
        write_plan(result, out)
        record_plan(directory, result, StoreRef(environment, store_url), _actor())
    _render_plan(result, fmt)
    if out is not None and fmt == "text":
        click.echo(
            f"Saved plan {result.digest[:16]} to {out}; apply it with `accesshive apply {out}`."
        )
    if detailed_exitcode and result.has_changes:
        sys.exit(EXIT_CHANGES)


@main.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@format_option("text", "json", "markdown")
@handles_errors
def show(plan_file: Path, fmt: str) -> None:
    """Render a saved plan (after checking it was not modified)."""
    _render_plan(read_plan(plan_file), fmt)


@main.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@format_option("mermaid", "dot")
@handles_errors
def graph(plan_file: Path, fmt: str) -> None:
    """Print a saved plan's order graph as Mermaid or Graphviz DOT."""
    saved = read_plan(plan_file)
    click.echo(render_mermaid(saved) if fmt == "mermaid" else render_dot(saved), nl=False)


@main.command()
@click.argument("target", required=False, type=click.Path(path_type=Path), default=None)
@dir_option("The config repository (when TARGET is a plan file).")
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Plan and apply in one go (TARGET is the config repository, not a plan file).",
)
@format_option("text", "json")
@today_option
@store_options
@handles_errors
def apply(
    target: Path | None,
    directory: Path,
    auto_approve: bool,
    fmt: str,
    today: dt.datetime | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Execute exactly a saved plan: retry, verify, record; resume after a crash.

    Gated orders run only when approved; what depends on them waits.
    """
    store = StoreRef(environment, store_url)
    if target is not None and target.is_file():
        saved = read_plan(target)
    else:
        directory = target or directory
        if not auto_approve:
            raise click.UsageError(
                "give a saved plan (accesshive plan --out plan.json), or --auto-approve to "
                "plan and apply in one go"
            )
        saved = plan_repository(directory, _today(today), store=store)
    live = fmt == "text" and sys.stderr.isatty()
    bar = click.progressbar(
        length=len(saved.orders), label="applying", file=sys.stderr, show_pos=True
    )
    finished: dict[str, str] = {}

    def progress(order: Order, state: str, message: str | None) -> None:
        if not live or state in ("pending", "transmitted", "executed"):
            return
        first = order.id not in finished
        finished[order.id] = state
        counts = Counter(finished.values())
        bar.label = (
            f"verified {counts['verified'] + counts['inactive']}  failed "
            f"{counts['errored'] + counts['error'] + counts['blocked']}  waiting "
            f"{counts['awaiting_approval']}"
        )
        bar.update(1 if first else 0)

    with bar if live else _nothing():
        result = apply_plan(directory, saved, store, _today(today), _actor(), progress)
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
                },
                indent=2,
                sort_keys=True,
            )
        )
    else:
        _print_apply(saved, result)
    if result.failed:
        sys.exit(EXIT_ERROR)
    if result.status != "complete":
        sys.exit(EXIT_WAITING)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _print_apply(saved: Plan, result: ApplyResult) -> None:
    counts = Counter(result.states.values())
    parts = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    click.echo(
        f"Apply run {result.run_id} of plan {result.plan_digest[:16]}: {result.status} ({parts})"
    )
    for order in saved.orders:
        state = result.states.get(order.id, "")
        if state in ("errored", "error", "blocked", "awaiting_approval") or (
            state == "pending" and order.id in result.messages
        ):
            message = result.messages.get(order.id, "")
            click.echo(f"  {state:<18} {summary_line(order)}  [{order.id}]\n{'':<20}{message}")
    if result.tasks:
        click.echo(
            f"{len(result.tasks)} manual task(s) for source owners: `accesshive tasks list "
            "--format markdown`"
        )


@main.command()
@click.argument("identity", required=False)
@dir_option("The config repository.")
@format_option("text", "json")
@store_options
@handles_errors
def status(
    identity: str | None, directory: Path, fmt: str, environment: str | None, store_url: str | None
) -> None:
    """Provisioning status per identity (pending, provisioned, error); with IDENTITY,
    each step of its flow with its state and message."""
    statuses = identity_status(directory, StoreRef(environment, store_url))
    if identity is not None:
        statuses = [s for s in statuses if s.identity == identity]
        if not statuses:
            raise click.BadParameter(f"no identity '{identity}'", param_hint="IDENTITY")
    if fmt == "json":
        click.echo(json.dumps([s.to_json() for s in statuses], indent=2, sort_keys=True))
        return
    colours = {"provisioned": "green", "pending": "yellow", "error": "red"}
    for s in statuses:
        extra = f"  ({len(s.outstanding)} outstanding)" if s.outstanding else ""
        click.secho(f"{s.status:<12} {s.identity}{extra}", fg=colours[s.status])
        if identity is None:
            continue
        for step in s.steps:
            click.echo(f"  {step.state:<18} {summary_line(step.order)}  [{step.order.id}]")
            if step.message:
                click.echo(f"  {'':<18} {step.message}")


@main.command()
@click.argument("identity")
@dir_option("The config repository.")
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
    result = retry_identity(
        directory, identity, StoreRef(environment, store_url), _today(today), _actor()
    )
    if result is None:
        click.echo(f"{identity}: nothing to retry, every step is done")
        return
    if fmt == "json":
        click.echo(json.dumps({"status": result.status, "orders": result.states}, indent=2))
    else:
        click.echo(f"{identity}: {result.status} ({dict(Counter(result.states.values()))})")
    if result.failed:
        sys.exit(EXIT_ERROR)
    if result.status != "complete":
        sys.exit(EXIT_WAITING)


@main.command(name="sync")
@repo_argument
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@format_option("text", "json")
@store_options
@handles_errors
def sync_command(
    directory: Path,
    sources: tuple[str, ...],
    fmt: str,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Read every source into a stored snapshot; a source that fails keeps its last one."""
    bars: dict[str, Any] = {}
    seen: dict[str, int] = {}
    show = fmt == "text" and sys.stderr.isatty()

    def progress(source: str, done: int, total: int | None) -> None:
        if not show:
            return
        bar = bars.get(source)
        if bar is None:
            bar = bars[source] = click.progressbar(
                length=total or 0, label=f"{source:<20}", file=sys.stderr, show_pos=True
            )
            bar.__enter__()
        bar.update(done - seen.get(source, 0))
        seen[source] = done

    results = sync_repository(
        directory, StoreRef(environment, store_url), list(sources) or None, progress, _actor()
    )
    for bar in bars.values():
        bar.__exit__(None, None, None)
    failed = [r for r in results if not r.ok]
    if fmt == "json":
        click.echo(json.dumps([r.to_json() for r in results], indent=2, sort_keys=True))
    else:
        for r in results:
            if r.ok:
                click.secho(f"✓ {r.source}: {r.accounts} accounts, {r.grants} grants", fg="green")
            else:
                kept = f"; keeping the snapshot of {r.kept}" if r.kept else "; no snapshot yet"
                click.secho(f"✗ {r.source}: {r.error}{kept}", fg="red", err=True)
    if failed:
        raise SyncError(f"{len(failed)} of {len(results)} sources could not be read")


@main.group()
def state() -> None:
    """Inspect the state store (snapshots, runs, the environment lock)."""


@state.command(name="show")
@repo_argument
@format_option("text", "json")
@store_options
@handles_errors
def state_show(directory: Path, fmt: str, environment: str | None, store_url: str | None) -> None:
    """Show the store: schema, lock holder, latest snapshot per source, recent runs."""
    report = state_report(directory, StoreRef(environment, store_url))
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
        return
    click.echo(
        f"store {report.location} (environment {report.environment}, "
        f"schema v{report.schema_version})"
    )
    click.echo(f"lock: {report.lock.describe() if report.lock else 'free'}")
    for snap in report.snapshots:
        click.echo(
            f"  {snap.source:<20} {snap.accounts:>7} accounts  read {snap.read_at}  "
            f"{snap.fingerprint[:12]}"
        )
    if not report.snapshots:
        click.echo("  no snapshots yet: run `accesshive sync`")
    click.echo(f"open manual tasks: {report.open_tasks}")


@state.command(name="unlock")
@repo_argument
@click.option("--force", is_flag=True, required=True, help="Confirm: no apply is running.")
@store_options
@handles_errors
def state_unlock(
    directory: Path, force: bool, environment: str | None, store_url: str | None
) -> None:
    """Break a lock left by a crashed run (recorded in the audit log with who broke it)."""
    broken = unlock(directory, StoreRef(environment, store_url), _actor())
    if broken is None:
        click.echo("the environment was not locked")
    else:
        click.echo(f"released the lock ({broken.describe()}); recorded as broken by {_actor()}")


@main.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--order", "orders", multiple=True, help="A gated order to approve (repeatable).")
@click.option("--all-gated", is_flag=True, help="Approve every gated order of the plan.")
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="Your Ed25519 private key (OpenSSH or PEM).",
)
@click.option("--as", "reviewer", required=True, help="Your reviewer name in policies/review.yaml.")
@dir_option("The config repository (the approvals file goes in its approvals/).")
@handles_errors
def approve(
    plan_file: Path,
    orders: tuple[str, ...],
    all_gated: bool,
    key_path: Path,
    reviewer: str,
    directory: Path,
) -> None:
    """Sign approvals of gated orders into approvals/<plan-digest>.yaml (commit it)."""
    config = load_config(directory)
    path, made = sign_approvals(
        config, read_plan(plan_file), key_path, reviewer, list(orders), all_gated
    )
    click.echo(f"signed {len(made)} approval(s) as {reviewer} into {path}; commit it to the PR")


@main.group()
def approvals() -> None:
    """Check and gather approvals of a plan's gated orders."""


@approvals.command(name="verify")
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@dir_option("The config repository.")
@format_option("text", "json")
@store_options
@handles_errors
def approvals_verify(
    plan_file: Path, directory: Path, fmt: str, environment: str | None, store_url: str | None
) -> None:
    """Per gated order: who approved, what is missing, and which approvals do not count."""
    config = load_config(directory, environment)
    saved = read_plan(plan_file)
    ref = StoreRef(environment, store_url)
    if ref.exists(directory):
        with ref.open(directory) as store:
            verdicts = check_approvals(config, saved, store)
    else:
        verdicts = check_approvals(config, saved, None)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    oid: {
                        "approved": v.approved,
                        "approvers": v.approvers,
                        "missing": v.missing,
                        "rejected": [{"reviewer": r, "reason": w} for r, w in v.rejected],
                    }
                    for oid, v in sorted(verdicts.items())
                },
                indent=2,
                sort_keys=True,
            )
        )
    else:
        for oid, v in sorted(verdicts.items()):
            mark = "✓" if v.approved else "✗"
            click.echo(f"{mark} {oid}  {summary_line(saved.order(oid))}\n    {v.describe()}")
        if not verdicts:
            click.echo("The plan has no gated orders.")
    if any(not v.approved for v in verdicts.values()):
        sys.exit(EXIT_WAITING)


@approvals.command(name="from-github")
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--repo", required=True, help="OWNER/NAME of the repository.")
@click.option("--pr", "number", type=int, required=True, help="The pull request number.")
@click.option(
    "--api-url",
    default="https://api.github.com",
    envvar="GITHUB_API_URL",
    show_default=True,
    help="GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3).",
)
@dir_option("The config repository.")
@store_options
@handles_errors
def approvals_from_github(
    plan_file: Path,
    repo: str,
    number: int,
    api_url: str,
    directory: Path,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Record approving reviews and `/approve ORDER-ID` comments of a pull request
    (token from GITHUB_TOKEN)."""
    config = load_config(directory, environment)
    saved = read_plan(plan_file)
    with StoreRef(environment, store_url).open(directory) as store:
        pr, recorded = record_from_github(
            config, saved, store, repo, number, os.environ.get("GITHUB_TOKEN"), api_url, _actor()
        )
    click.echo(f"{repo}#{number} by {pr.author}: recorded {recorded} new approval(s)")
    for note in pr.ignored:
        click.echo(f"  ignored: {note}")


@main.command()
@repo_argument
@format_option("markdown", "html", "json", "text")
@click.option("--no-sync", is_flag=True, help="Use the latest stored snapshots; read nothing.")
@click.option(
    "--fail-on",
    type=click.Choice(["drift", "orphans", "errors"]),
    multiple=True,
    help="Exit 7 when the report finds this (repeatable).",
)
@click.option("--stale-days", type=int, default=7, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@today_option
@store_options
@handles_errors
def report(
    directory: Path,
    fmt: str,
    no_sync: bool,
    fail_on: tuple[str, ...],
    stale_days: int,
    out: Path | None,
    today: dt.datetime | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Drift, orphan and health report (Markdown for an issue, one-file HTML, JSON)."""
    result, synced = report_repository(
        directory,
        StoreRef(environment, store_url),
        _today(today),
        sync_first=not no_sync,
        stale_days=stale_days,
        actor=_actor(),
    )
    for failed in (r for r in synced if not r.ok):
        click.secho(
            f"warning: {failed.source} could not be read: {failed.error}", fg="yellow", err=True
        )
    if fmt == "json":
        text = json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n"
    elif fmt == "html":
        text = render_report_html(result)
    elif fmt == "text":
        text = (
            headline(result)
            + "\n"
            + "".join(
                f"{i.health:<20} {i.identity}\n" for i in result.identities if i.health != "healthy"
            )
        )
    else:
        text = render_report_markdown(result)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote the report to {out}", err=True)
    found = {
        "drift": result.totals["drift"] > 0,
        "orphans": result.totals["orphaned"] > 0,
        "errors": result.totals["error"] > 0,
    }
    hits = [name for name in fail_on if found[name]]
    if hits:
        click.secho(f"report found {', '.join(hits)}", fg="red", err=True)
        sys.exit(EXIT_FINDINGS)


@main.group()
def scim() -> None:
    """The SCIM 2.0 service provider that identity providers (Okta, Entra...) push to."""


@scim.group(name="token")
def scim_token() -> None:
    """Bearer tokens of the SCIM service provider."""


@scim_token.command(name="create")
@click.option("--source", "source_id", required=True, help="The identity source (kind scim).")
@dir_option()
@store_options
@handles_errors
def scim_token_create(
    source_id: str, directory: Path, environment: str | None, store_url: str | None
) -> None:
    """Make a bearer token for SOURCE; it is shown once, only its hash is kept."""
    revoked = create_scim_token(directory, source_id, StoreRef(environment, store_url), _actor())
    click.echo(revoked[0])
    note = f"; the previous token ({revoked[1]}) no longer works" if revoked[1] else ""
    click.echo(f"(shown once: put it in the identity provider now{note})", err=True)


@scim.command(name="serve")
@click.option("--source", "source_id", required=True, help="The identity source (kind scim).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8787, show_default=True)
@dir_option()
@store_options
@handles_errors
def scim_serve(
    source_id: str,
    host: str,
    port: int,
    directory: Path,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Serve /scim/v2 (Users, Groups, ServiceProviderConfig, Schemas, ResourceTypes)."""
    serve_scim(directory, source_id, StoreRef(environment, store_url), host, port)


@main.group(name="import")
def import_() -> None:
    """Import identities from an HR export or a directory."""


@import_.command(name="csv")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--source", "source_id", required=True, help="The identity source in accesshive.yaml."
)
@dir_option("The config repository.")
@click.option(
    "--write-yaml",
    is_flag=True,
    help="Write the identities into the repository's YAML (comments kept) for a pull request.",
)
@format_option("text", "json")
@today_option
@store_options
@handles_errors
def import_csv_command(
    file: Path,
    source_id: str,
    directory: Path,
    write_yaml: bool,
    fmt: str,
    today: dt.datetime | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Map an HR export (CSV) to identities: joiners, movers and leavers.

    Without --write-yaml, the rows become the source's records in the store, which plan
    merges with the YAML (YAML wins)."""
    changes = import_csv(
        directory, file, source_id, _today(today), write_yaml, StoreRef(environment, store_url)
    )
    if not write_yaml and fmt == "text":
        click.echo(f"kept the export as the records of '{source_id}': plan merges them")
    _print_import(changes, fmt, write_yaml)


@import_.command(name="scim")
@click.argument("url")
@click.option(
    "--source", "source_id", required=True, help="The identity source in accesshive.yaml."
)
@click.option(
    "--token-env",
    default="ACCESSHIVE_IMPORT_TOKEN",
    show_default=True,
    help="Environment variable holding the directory's bearer token.",
)
@dir_option()
@click.option("--write-yaml", is_flag=True, help="Write the identities into the repository's YAML.")
@format_option("text", "json")
@today_option
@handles_errors
def import_scim_command(
    url: str,
    source_id: str,
    token_env: str,
    directory: Path,
    write_yaml: bool,
    fmt: str,
    today: dt.datetime | None,
) -> None:
    """Pull Users and Groups from a SCIM 2.0 directory (for directories that cannot push)."""
    changes = import_scim(
        directory, url, source_id, os.environ.get(token_env), _today(today), write_yaml
    )
    _print_import(changes, fmt, write_yaml)


def _print_import(changes: YamlChanges, fmt: str, write_yaml: bool) -> None:
    summary = {"added": changes.added, "changed": changes.changed, "left": changes.left}
    if fmt == "json":
        click.echo(json.dumps({"file": str(changes.path), **summary}, indent=2, sort_keys=True))
        return
    verb = "updated" if write_yaml else "would update (dry run; --write-yaml writes)"
    click.echo(
        f"{verb} {changes.path}: {len(changes.added)} joiners, {len(changes.changed)} "
        f"movers, {len(changes.left)} leavers"
    )
    for key, ids in summary.items():
        for iid in ids:
            click.echo(f"  {key:<8} {iid}")


@main.command(name="promote")
@repo_argument
@click.option("--from", "source", required=True, help="The environment that applied it (sandbox).")
@click.option("--to", "target", required=True, help="The environment to promote to (production).")
@click.option("--store", "store_url", default=None, metavar="URL", help="The target's store.")
@handles_errors
def promote_command(directory: Path, source: str, target: str, store_url: str | None) -> None:
    """Allow TARGET to apply the current config digest, if SOURCE applied it cleanly."""
    done = promote(directory, source, target, _actor(), store_url)
    click.echo(
        f"promoted config {done.config_digest[:12]} from {source} (plan "
        f"{done.plan_digest[:12]}) to {target}"
    )


@main.group()
def audit() -> None:
    """The tamper-evident audit trail: verify, export, forward to a SIEM."""


@audit.command(name="verify")
@repo_argument
@store_options
@handles_errors
def audit_verify(directory: Path, environment: str | None, store_url: str | None) -> None:
    """Check the hash chain; name the first edited, removed or reordered entry."""
    with StoreRef(environment, store_url).open(directory) as store:
        entries = store.audit_entries()
        problem = verify_chain(entries, store.anchors())
    if problem is not None:
        click.secho(f"✗ audit log of '{environment}' is broken at {problem}", fg="red", err=True)
        sys.exit(EXIT_ERROR)
    click.secho(f"✓ {len(entries)} audit entries, chain intact", fg="green")


@audit.command(name="export")
@repo_argument
@click.option("--since", default=None, help="Only entries at or after this ISO time.")
@format_option("jsonl", "cef")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@store_options
@handles_errors
def audit_export(
    directory: Path,
    since: str | None,
    fmt: str,
    out: Path | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Write audit entries as JSON Lines or CEF for SIEM tools."""
    with StoreRef(environment, store_url).open(directory) as store:
        entries = store.audit_entries(since=since)
    text = to_jsonl(entries) if fmt == "jsonl" else to_cef(entries)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(entries)} entries to {out}", err=True)


@audit.command(name="forward")
@repo_argument
@click.option("--url", required=True, help="The SIEM webhook (token from ACCESSHIVE_SIEM_TOKEN).")
@click.option("--batch-size", type=int, default=200, show_default=True)
@store_options
@handles_errors
def audit_forward(
    directory: Path, url: str, batch_size: int, environment: str | None, store_url: str | None
) -> None:
    """Post new audit entries to a SIEM webhook; resumes where the last run stopped."""
    with StoreRef(environment, store_url).open(directory) as store:
        sent = forward(store, url, batch_size, token=os.environ.get("ACCESSHIVE_SIEM_TOKEN"))
    click.echo(f"forwarded {sent} entries to {url}")


@main.group()
def vault() -> None:
    """The credential vault: encrypted non-human credentials."""


@vault.command(name="init")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the new master key (mode 600; never overwritten).",
)
@handles_errors
def vault_init(key_file: Path) -> None:
    """Generate a master key (AES-256) into a key file."""
    key = init_key(key_file)
    click.echo(f"wrote master key {key.key_id} to {key_file} (readable by you only)")
    click.echo(
        "Point the vault source at it (connection.key_file), or put its content in a CI "
        "secret and use connection.key: ${env:ACCESSHIVE_MASTER_KEY}. Keep a backup: "
        "without it the vault cannot be opened."
    )


def _vault_args(func: F) -> F:
    func = click.option("--vault", "vault_name", default=None, help="The vault source.")(func)
    return dir_option()(func)


@vault.command(name="put")
@click.argument("identity")
@_vault_args
@store_options
@handles_errors
def vault_put(
    identity: str,
    directory: Path,
    vault_name: str | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Store IDENTITY's credential, read from stdin (never from the command line)."""
    value = sys.stdin.read().strip("\r\n")
    config = load_config(directory, environment)
    with StoreRef(environment, store_url).open(directory) as store:
        info = put_secret(
            config, store, vault_source(config, vault_name), identity, value, _actor()
        )
    click.echo(f"stored {identity} ({info.kind}, version {info.version}, key {info.key_id})")


@vault.command(name="get")
@click.argument("identity")
@click.option("--reveal", is_flag=True, required=True, help="Confirm: print the secret in clear.")
@_vault_args
@store_options
@handles_errors
def vault_get(
    identity: str,
    reveal: bool,
    directory: Path,
    vault_name: str | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Print IDENTITY's credential in clear (recorded in the audit log)."""
    config = load_config(directory, environment)
    with StoreRef(environment, store_url).open(directory) as store:
        click.echo(
            reveal_secret(config, store, vault_source(config, vault_name), identity, _actor())
        )


@vault.command(name="list")
@_vault_args
@format_option("text", "json")
@handles_errors
def vault_list(directory: Path, vault_name: str | None, fmt: str) -> None:
    """Credentials in the vault: metadata only, never a secret."""
    config = load_config(directory)
    infos = list_secrets(config, vault_source(config, vault_name))
    if fmt == "json":
        click.echo(json.dumps([i.__dict__ for i in infos], indent=2, sort_keys=True))
        return
    for i in infos:
        click.echo(
            f"{i.identity:<32} {i.kind:<22} key {i.key_id}  stored {i.stored_at}  "
            f"rotated {i.rotated_at}  v{i.version}"
        )
    if not infos:
        click.echo("The vault is empty.")


@vault.command(name="rotate-key")
@_vault_args
@click.option(
    "--key-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the new keyring when the key comes from the environment.",
)
@store_options
@handles_errors
def vault_rotate_key(
    directory: Path,
    vault_name: str | None,
    key_out: Path | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Re-wrap every secret's data key under a new master key (resumable after a crash)."""
    config = load_config(directory, environment)
    with StoreRef(environment, store_url).open(directory) as store:
        key, count = rotate_master_key(
            config, store, vault_source(config, vault_name), key_out, _actor()
        )
    click.echo(f"re-wrapped {count} secret(s) under master key {key.key_id}")


@main.group()
def tasks() -> None:
    """Manual provisioning tasks for sources that a person provisions."""


@tasks.command(name="list")
@repo_argument
@click.option("--all", "include_done", is_flag=True, help="Include verified tasks.")
@format_option("text", "json", "csv", "markdown")
@store_options
@handles_errors
def tasks_list(
    directory: Path, include_done: bool, fmt: str, environment: str | None, store_url: str | None
) -> None:
    """List open manual tasks."""
    found = list_tasks(directory, StoreRef(environment, store_url), include_done)
    if fmt == "json":
        click.echo(json.dumps([t.__dict__ for t in found], indent=2, sort_keys=True))
    elif fmt == "csv":
        click.echo(tasks_csv(found), nl=False)
    elif fmt == "markdown":
        click.echo(tasks_markdown(found), nl=False)
    elif not found:
        click.echo("No open manual tasks.")
    else:
        for t in found:
            click.echo(f"{t.id}  [{t.state}]  {t.source} ({t.assignee}): {t.description}")


@tasks.command(name="done")
@repo_argument
@click.argument("task_id")
@click.option("--by", required=True, help="Who performed the task.")
@store_options
@handles_errors
def tasks_done(
    directory: Path, task_id: str, by: str, environment: str | None, store_url: str | None
) -> None:
    """Mark a manual task done (recorded in the audit log)."""
    task = complete_task(directory, StoreRef(environment, store_url), task_id, by)
    click.echo(f"{task.id} marked done by {by}")


@main.command()
@click.option(
    "--for",
    "target",
    type=click.Choice(["config", "project", "policy"]),
    default="config",
    show_default=True,
    help="config: any config file; project: accesshive.yaml; policy: files in policies/.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write all three schemas (config, project, policy).json into this directory.",
)
def schema(target: str, out: Path | None) -> None:
    """Print the JSON Schema of the config files (for editors and CI)."""
    if out is None:
        click.echo(json.dumps(json_schema(cast(SchemaTarget, target)), indent=2, sort_keys=True))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in get_args(SchemaTarget):
        path = out / f"{name}.json"
        path.write_text(json.dumps(json_schema(name), indent=2, sort_keys=True) + "\n")
        click.echo(f"wrote {path}")
