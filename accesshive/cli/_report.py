"""Commands about an environment's outcome as a whole: ``report`` (drift, orphans,
health) and ``promote`` (let the next environment apply what this one applied cleanly)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from accesshive.cli._options import (
    OutputFile,
    actor,
    as_date,
    format_option,
    handles_errors,
    store_options,
    tell_notifications,
    today_option,
)
from accesshive.cli._repository import repo_argument
from accesshive.errors import EXIT_FINDINGS


@click.command()
@repo_argument
@format_option("markdown", "html", "json", "text")
@click.option("--no-sync", is_flag=True, help="Use the latest stored snapshots; read nothing.")
@click.option(
    "--fail-on",
    type=click.Choice(["drift", "orphans", "errors"]),
    multiple=True,
    help="Exit 7 when the report finds this (repeatable).",
)
@click.option(
    "--stale-days",
    type=click.IntRange(min=0),
    default=7,
    show_default=True,
    help="Approvals and tasks waiting longer than this many days are stale.",
)
@click.option("--out", type=OutputFile(), default=None, help="Write the report here.")
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
    from accesshive.operations import StoreRef, report_repository
    from accesshive.render.report import (
        render_report_html,
        render_report_markdown,
        render_report_text,
    )

    result, synced, sent = report_repository(
        directory,
        StoreRef(environment, store_url, create=False),
        as_date(today),
        sync_first=not no_sync,
        stale_days=stale_days,
        actor=actor(),
    )
    for failed in (r for r in synced if not r.ok):
        click.secho(
            f"warning: {failed.source} could not be read: {failed.error}", fg="yellow", err=True
        )
    tell_notifications(sent)
    if fmt == "json":
        text = json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n"
    elif fmt == "html":
        text = render_report_html(result)
    elif fmt == "text":
        text = render_report_text(result)
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


@click.command(name="promote")
@repo_argument
@click.option("--from", "source", required=True, help="The environment that applied it (sandbox).")
@click.option("--to", "target", required=True, help="The environment to promote to (production).")
@click.option("--store", "store_url", default=None, metavar="URL", help="The target's store.")
@handles_errors
def promote_command(directory: Path, source: str, target: str, store_url: str | None) -> None:
    """Allow TARGET to apply the current config digest, if SOURCE applied it cleanly."""
    from accesshive.operations import promote

    done = promote(directory, source, target, actor(), store_url)
    click.echo(
        f"promoted config {done.config_digest[:12]} from {source} (plan "
        f"{done.plan_digest[:12]}) to {target}"
    )
