"""What the commands share: common options (``--dir``, ``--format``, ``--env``/``--store``,
``--today``), the error handler that turns ``AccessHiveError`` into ``Error: ...`` and its
exit code, and small helpers (who the actor is, which day it is).

Why one module: every command module imports these, and none of them imports a command.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from accesshive.diagnostics import Diagnostic
from accesshive.errors import AccessHiveError, ConfigError

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
            print_diagnostics(exc.diagnostics, fmt, ok=False)
            sys.exit(exc.exit_code)
        except AccessHiveError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def print_diagnostics(diagnostics: tuple[Diagnostic, ...], fmt: str, ok: bool) -> None:
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


def actor() -> str:
    return os.environ.get("ACCESSHIVE_ACTOR") or os.environ.get("GITHUB_ACTOR") or getpass.getuser()


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
