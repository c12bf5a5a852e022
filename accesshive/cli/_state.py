"""Commands that read the targets into the store and inspect it: ``sync`` and the
``state`` group (``show``, ``unlock``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from accesshive.cli._options import (
    actor,
    format_option,
    handles_errors,
    store_options,
    workers_options,
)
from accesshive.cli._repository import repo_argument, runnable
from accesshive.errors import EXIT_PARTIAL, SyncError


@click.command(name="sync")
@repo_argument
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@workers_options("Read the sources, one job each,")
@format_option("text", "json")
@store_options
@handles_errors
def sync_command(
    directory: Path,
    sources: tuple[str, ...],
    workers: bool,
    takeover_after: float,
    fmt: str,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Read every source into a stored snapshot; a source that fails keeps its last one."""
    from accesshive.operations import StoreRef, sync_repository
    from accesshive.workers.engine import Workers, postgres_url

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

    if workers:  # refused before anything says the sources wait for workers
        postgres_url(StoreRef(environment, store_url).location(directory))
    if workers and fmt == "text":
        click.echo(
            runnable(
                "sync: the sources are read by `accesshive worker` processes; waiting for "
                "them (none running? start one: `accesshive worker`)"
            ),
            err=True,
        )
    results = sync_repository(
        directory,
        StoreRef(environment, store_url),
        list(sources) or None,
        progress,
        actor(),
        Workers(takeover_after) if workers else None,
    )
    for bar in bars.values():
        bar.__exit__(None, None, None)
    failed = [r for r in results if not r.ok]
    if fmt == "json":
        click.echo(json.dumps([r.to_json() for r in results], indent=2, sort_keys=True))
        if failed:  # each failure is in the JSON already: one document on stdout
            sys.exit(EXIT_PARTIAL)
    else:
        from accesshive.render.describe import plural

        for r in results:
            if r.ok:
                counts = f"{plural(r.accounts, 'account')}, {plural(r.grants, 'grant')}"
                click.secho(f"✓ {r.source}: {counts}", fg="green")
            else:
                kept = f"; keeping the snapshot of {r.kept}" if r.kept else "; no snapshot yet"
                click.secho(f"✗ {r.source}: {r.error}{kept}", fg="red", err=True)
    if failed:
        raise SyncError(f"{len(failed)} of {len(results)} sources could not be read")


@click.group()
def state() -> None:
    """Inspect the state store (snapshots, runs, the environment lock)."""


@state.command(name="show")
@repo_argument
@format_option("text", "json")
@store_options
@handles_errors
def state_show(directory: Path, fmt: str, environment: str | None, store_url: str | None) -> None:
    """Show the store: schema, lock holder, latest snapshot per source, recent runs."""
    from accesshive.operations import StoreRef, state_report
    from accesshive.terminal_text import shown

    report = state_report(directory, StoreRef(environment, store_url, create=False))
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
        return
    click.echo(
        f"store {report.location} (environment {report.environment}, "
        f"schema v{report.schema_version})"
    )
    click.echo(f"lock: {shown(report.lock.describe()) if report.lock else 'free'}")
    for snap in report.snapshots:
        click.echo(
            f"  {snap.source:<20} {snap.accounts:>7} accounts  read {snap.read_at}  "
            f"{snap.fingerprint[:12]}"
        )
    if not report.snapshots:
        click.echo("  no snapshots yet: run " + runnable("`accesshive sync`"))
    click.echo(f"open manual tasks: {report.open_tasks}")
    if report.runs:
        click.echo("recent runs:")
    for run in report.runs:
        targeted = run.get("targeted")
        if isinstance(targeted, dict) and "plan_of" in targeted:  # retry's plan
            scope = f"a plan of {targeted['plan_of']} only"
        elif isinstance(targeted, dict):
            scope = "targeted: " + ", ".join(f"--{k} {v}" for k, v in sorted(targeted.items()))
        else:
            scope = "whole plan"
        click.echo(
            f"  run {run['id']:<5} {run['status']:<16} plan {str(run['plan_digest'])[:16]}  "
            f"{run['started_at']}  by {shown(run['actor'])}  ({shown(scope)})"
        )


@state.command(name="unlock")
@repo_argument
@click.option("--force", is_flag=True, required=True, help="Confirm: no apply is running.")
@store_options
@handles_errors
def state_unlock(
    directory: Path, force: bool, environment: str | None, store_url: str | None
) -> None:
    """Break a lock left by a crashed run (recorded in the audit log with who broke it)."""
    from accesshive.operations import StoreRef, unlock

    broken = unlock(directory, StoreRef(environment, store_url, create=False), actor())
    if broken is None:
        click.echo("the environment was not locked")
    else:
        click.echo(f"released the lock ({broken.describe()}); recorded as broken by {actor()}")
