"""The options and helpers the commands share: ``--format``, ``--env``/``--store``,
``--today``, ``--progress``, a file to write, who the actor is, which day it is, and what
the notifications policy sent.

Why one module: every command module imports these, and none of them imports a command.
The repository options and runnable hints are ``_repository``'s, the error handler
``_failure``'s, the group ``_group``'s.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import click

from accesshive.cli._repository import F


class OutputFile(click.Path):
    """A file to write: its directory must exist and it must not be a directory, checked
    when the options are read, before anything is computed or changed."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(os.fsdecode(super().convert(value, param, ctx)))
        parent = path.parent
        if not parent.is_dir():
            what = "is not a directory" if parent.exists() else "does not exist"
            self.fail(f"cannot write '{path}': the directory '{parent}' {what}", param, ctx)
        return path


def format_option(*choices: str, help_text: str | None = None) -> Callable[[F], F]:
    """``--format``, the first choice the default. Its help says what json does only where
    json is a choice; a command without it says what its formats are (``help_text``)."""
    if help_text is None:
        help_text = (
            "Output format (json is for machines; with json, errors are JSON too)."
            if "json" in choices
            else "Output format."
        )
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=help_text,
    )


def handles_errors(func: F) -> F:
    """Kept for the commands that name it: errors are now handled once, for every command,
    by ``AccessHiveGroup`` (text or JSON, one line, the exit code of the error)."""
    return func


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


def workers_options(what: str) -> Callable[[F], F]:
    """``--workers`` and ``--takeover-after``: the same two options wherever a command can
    hand its work to ``accesshive worker`` processes (``apply``, ``sync``)."""

    def decorate(func: F) -> F:
        func = click.option(
            "--takeover-after",
            type=click.FloatRange(0.5, 3600),
            default=30.0,
            show_default=True,
            metavar="SECONDS",
            help="With --workers: a worker silent this long is taken as dead, its jobs "
            "given to another (longer than the workers' --heartbeat).",
        )(func)
        return click.option(
            "--workers",
            is_flag=True,
            help=f"{what} on `accesshive worker` processes sharing the PostgreSQL store, "
            "and wait for them (default: in this process).",
        )(func)

    return decorate


def actor() -> str:
    """Who runs the command, for the audit trail and the runs it records."""
    found = os.environ.get("ACCESSHIVE_ACTOR") or os.environ.get("GITHUB_ACTOR")
    if found:
        return found
    import getpass  # termios and pwd: only for a run that records who ran it

    return getpass.getuser()


def as_date(value: dt.datetime | None) -> dt.date:
    return (value or dt.datetime.now()).date()


progress_option = click.option(
    "--progress/--no-progress",
    default=None,
    help="Show each stage and how long it took, on stderr (default: when stderr is a terminal).",
)


def stage_reporter(progress: bool | None) -> Callable[[str], AbstractContextManager[object]]:
    """``operations`` steps shown on stderr: what runs, then how long it took (a cold
    plan of a large org runs for half a minute; it should not look stuck)."""
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return lambda _: nullcontext()

    @contextmanager
    def step(label: str) -> Iterator[None]:
        click.echo(f"{label} …", err=True, nl=False)
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            click.echo(" stopped", err=True)
            raise
        click.echo(f" {time.perf_counter() - started:.1f} s", err=True)

    return step


def tell_notifications(outcomes: Sequence[Any]) -> None:
    """On stderr (never in the command's own output): what the ``notifications`` policy
    sent, and each delivery that failed, which the next run sends again."""
    sent = [o for o in outcomes if o.error is None]
    if sent:
        targets = ", ".join(sorted({o.target for o in sent}))
        click.echo(f"notified {targets} ({len(sent)} message(s))", err=True)
    for failed in (o for o in outcomes if o.error is not None):
        click.secho(
            f"warning: the {failed.event} notification was not delivered ({failed.error}); "
            "the next run sends it again",
            fg="yellow",
            err=True,
        )
