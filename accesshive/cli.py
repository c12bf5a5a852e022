"""The ``accesshive`` command line: parse options, call one operation, render the result.

No business logic lives here. Errors: only ``AccessHiveError`` is caught (and
printed as ``Error: ...`` with its exit code); anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast, get_args

import click

from accesshive import __version__
from accesshive.config.schema import SchemaTarget, json_schema
from accesshive.diagnostics import Diagnostic
from accesshive.errors import EXIT_CHANGES, EXIT_ERROR, AccessHiveError, ConfigError
from accesshive.operations import plan_repository, validate_repository
from accesshive.plan.model import Plan
from accesshive.plan.planfile import dumps, read_plan, write_plan
from accesshive.render import render_dot, render_markdown, render_mermaid, render_text

F = TypeVar("F", bound=Callable[..., Any])

repo_argument = click.argument(
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    required=False,
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
@handles_errors
def validate(directory: Path, fmt: str, today: dt.datetime | None) -> None:
    """Check a config repository; exit 1 on any problem. Changes nothing."""
    result = validate_repository(directory, _today(today))
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
@today_option
@handles_errors
def plan(
    directory: Path,
    snapshot_file: Path | None,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    allow_mass_changes: bool,
    today: dt.datetime | None,
) -> None:
    """Compute the provisioning orders that bring the targets to the configuration."""
    result = plan_repository(directory, _today(today), snapshot_file, allow_mass_changes)
    if out is not None:
        write_plan(result, out)
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
