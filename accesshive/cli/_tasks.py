"""The ``tasks`` group: manual provisioning tasks for sources that a person provisions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from accesshive.cli._options import actor, format_option, handles_errors, store_options
from accesshive.cli._repository import dir_option, repo_argument, runnable
from accesshive.terminal_text import shown


@click.group()
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
    """List open manual tasks, and those cancelled as no longer needed (with why)."""
    from accesshive.operations import StoreRef, list_tasks
    from accesshive.tasks import tasks_csv, tasks_markdown

    found = list_tasks(directory, StoreRef(environment, store_url, create=False), include_done)
    if fmt == "json":
        click.echo(json.dumps([t.__dict__ for t in found], indent=2, sort_keys=True))
    elif fmt == "csv":
        click.echo(tasks_csv(found), nl=False)
    elif fmt == "markdown":
        click.echo(runnable(tasks_markdown(found)), nl=False)
    elif not found:
        click.echo("No open manual tasks.")
    else:
        for t in found:
            # a description names the identity and its attribute values: one line each
            click.echo(shown(f"{t.id}  [{t.state}]  {t.source} ({t.assignee}): {t.description}"))
            if t.reason:
                click.echo(f"    {shown(t.reason)}")


@tasks.command(name="done")
@click.argument("task_id")
@dir_option()
@click.option(
    "--by",
    default=None,
    help="Who performed the task (default: you: $ACCESSHIVE_ACTOR, $GITHUB_ACTOR or your login).",
)
@store_options
@handles_errors
def tasks_done(
    task_id: str, directory: Path, by: str | None, environment: str | None, store_url: str | None
) -> None:
    """Mark the manual task TASK_ID done (recorded in the audit log)."""
    from accesshive.operations import StoreRef, complete_task
    from accesshive.operations.state import waiting_on

    by = by or actor()
    ref = StoreRef(environment, store_url, create=False)
    task, marked = complete_task(directory, ref, task_id, by)
    if marked:
        click.echo(f"{task.id} marked done by {shown(by)}")
        # its order is verified now: what waited on it runs at the next apply
        waiting = waiting_on(directory, ref, task)
        free = [oid for oid, gated in waiting if not gated]
        gated = [oid for oid, gated in waiting if gated]
        if free:
            click.echo(
                runnable(
                    f"what waited on it in plan {task.plan_digest[:12]} "
                    f"({', '.join(free)}) runs at the next "
                    "`accesshive apply --auto-approve`, as far as the configuration still "
                    "asks for it (apply plans again)"
                )
            )
        if gated:
            click.echo(
                f"{', '.join(gated)} also waited on it, and run once approved (they are "
                "gated: `accesshive approvals verify` on the saved plan says who must approve)"
            )
    else:
        click.echo(
            f"{task.id} already done (by {shown(task.done_by)} at {task.done_at}); nothing changed"
        )
