"""Commands that read the configuration and make or show a plan: ``validate``, ``plan``,
``show``, ``graph`` and ``schema``.

Why together: none of them writes to a target; they load, check and render.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast, get_args

import click

from accesshive.cli._failure import print_diagnostics
from accesshive.cli._options import (
    OutputFile,
    actor,
    as_date,
    format_option,
    handles_errors,
    progress_option,
    stage_reporter,
    store_options,
    today_option,
)
from accesshive.cli._plan_files import point_hints_at_plan, read_saved
from accesshive.cli._repository import (
    HINT,
    _default_repository,
    hints_point_at,
    repo_argument,
    runnable,
)
from accesshive.errors import EXIT_CHANGES, ConfigError

if TYPE_CHECKING:
    from accesshive.approvals.declines import Decline
    from accesshive.approvals.model import OrderApproval
    from accesshive.plan.model import Plan


@click.command()
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
@progress_option
@handles_errors
def validate(
    directory: Path,
    fmt: str,
    today: dt.datetime | None,
    environment: str | None,
    progress: bool | None,
) -> None:
    """Check a config repository; exit 1 on any problem. Changes nothing.

    Files are read as YAML 1.2: yes/no/on/off are text, not booleans (write true/false).
    """
    _require_project(directory)
    from accesshive.operations import validate_repository

    result = validate_repository(directory, as_date(today), environment, stage_reporter(progress))
    if not result.ok:
        raise ConfigError(result.diagnostics)  # shown, text or JSON, by the error handler
    print_diagnostics(result.diagnostics, fmt, ok=result.ok)
    if fmt == "text" and result.config is not None:
        from accesshive.config.loader import DEFAULT_POLICIES
        from accesshive.render.describe import plural

        c = result.config
        own = [name for name, _ in c.files if not name.startswith(DEFAULT_POLICIES)]
        # the default policies count only where a section of them is in use: a repository
        # whose policies/ sets every section reads them, but uses none; name the sections
        # used, so that a review policy of the repository's own is not called a default
        shipped = sorted(s for s, o in c.policy_origins.items() if o.startswith(DEFAULT_POLICIES))
        defaults = f", default policies: {', '.join(shipped)}" if shipped else ""
        click.secho(
            f"✓ {directory}: valid ({plural(len(c.sources), 'source')}, "
            f"{plural(len(c.identities), 'identity', 'identities')}, "
            f"{plural(len(c.roles), 'role')}, {plural(len(c.access_profiles), 'access profile')}"
            f", {plural(len(own), 'file')}{defaults})",
            fg="green",
        )


def _require_project(directory: Path) -> None:
    """Refuse a directory that is no config repository before importing the loader: the
    same error the loader gives, in a tenth of the time (see ``config.project_file``)."""
    from accesshive.config.project_file import missing_project

    missing = missing_project(directory)
    if missing is not None:
        raise ConfigError([missing])


def _render_plan(
    plan: Plan,
    fmt: str,
    text: str | None = None,
    plan_file: Path | None = None,
    approvals: Mapping[str, OrderApproval] | None = None,
    declines: Mapping[str, list[Decline]] | None = None,
    repository: Path | None = None,
    plan_name: str | None = None,
) -> str:
    """Print ``plan`` in ``fmt``; returns what was printed (JSON needs no renderer: not
    imported then, a quarter of a plan read from the plan cache). ``repository``: the
    plan's, when known: where it declares no reviewer, the comment says so instead of an
    ``approve`` command that would refuse every key. ``plan_name``: the comment is read
    elsewhere (CI): its approve command names the plan so, as run from a checkout of the
    pull request, with none of this run's paths."""
    from accesshive.plan.planfile import dumps

    if fmt == "json":
        shown = text or dumps(plan)
        click.echo(shown, nl=False)
        return shown
    from accesshive.render import render_markdown, render_text

    if fmt == "markdown":
        name = plan_name or (str(plan_file) if plan_file is not None else "plan.json")
        no_reviewer = None
        if repository is not None and any(o.gate for o in plan.orders):
            from accesshive.cli._apply import _no_reviewer_in

            no_reviewer = _no_reviewer_in(repository)
        markdown = render_markdown(
            plan,
            approvals,
            plan_file=name,
            declines=declines,
            no_reviewer=no_reviewer,
            artefact=plan_name is not None,
        )
        # its approve hint runs from here too; one read elsewhere names no path of here
        shown = markdown if plan_name is not None else runnable(markdown)
    else:
        # its warnings' hints (`accesshive tasks done ...`) run from here too
        shown = runnable(
            render_text(plan, style=click.style, declines=declines, approvals=approvals)
        )
    click.echo(shown, nl=False)
    return shown


@click.command()
@repo_argument
@click.option(
    "--snapshot",
    "snapshot_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Plan against this snapshot file (JSON/YAML) instead of the stored one.",
)
@click.option("--out", type=OutputFile(), help="Save the plan here.")
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
@progress_option
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
    progress: bool | None,
) -> None:
    """Compute the provisioning orders that bring the targets to the configuration.

    Plans against the snapshot stored by the last `accesshive sync` (or --snapshot FILE).
    """
    _require_project(directory)
    from accesshive.operations.plan_command import plan_command
    from accesshive.plan.planfile import dumps, write_plan

    result, kept = plan_command(
        directory,
        as_date(today),
        snapshot_file,
        allow_mass_changes,
        environment,
        store_url,
        author,
        steps=stage_reporter(progress),
    )
    text = dumps(result) if out is not None or fmt == "json" else None  # once, for all uses
    if out is not None:
        write_plan(result, out, text)
        if not kept:  # a plan read from the plan cache was made without a store
            from accesshive.operations import StoreRef, record_plan

            record_plan(directory, result, StoreRef(environment, store_url), actor(), text)
    declined = None if fmt == "json" else _declines(directory, result, environment, store_url)
    _render_plan(result, fmt, text, out, declines=declined, repository=directory)
    if fmt == "text" and snapshot_file is None:
        _hint_sync(result)
    if out is not None and fmt == "text":
        hint = runnable(f"`accesshive apply {shlex.quote(str(out))}`")
        click.echo(f"Saved plan {result.digest[:16]} to {out}; apply it with {hint}.")
    if detailed_exitcode and result.has_changes:
        sys.exit(EXIT_CHANGES)


def _hint_sync(plan: Plan) -> None:
    """A plan made before any sync lists every account as missing: say what reads the
    sources, so that the next plan is against what they hold."""
    from accesshive.plan.orders import NO_SNAPSHOT

    unsynced = [w for w in plan.warnings if w.endswith(NO_SNAPSHOT)]
    if unsynced:
        what = "these sources" if len(unsynced) > 1 else "this source"
        hint = runnable("`accesshive sync`")
        click.echo(f"hint: read {what} with {hint}, then plan again.")  # under the warnings


@click.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@format_option("text", "json", "markdown")
@click.option(
    "-C",
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    metavar="DIR",
    help="The config repository: the Markdown then says which gated orders are approved, "
    "which orders are declined (its approvals/ files and what was recorded from GitHub) "
    "and what is missing. Without it, the hints shown name the repository the plan "
    "was made from: the current directory, the plan's, or the one below it whose "
    "configuration is the plan's.",
)
@click.option(
    "--plan-name",
    metavar="NAME",
    default=None,
    help="For a comment read elsewhere (CI): the name reviewers save this run's plan file "
    "as (its artefact), which the Markdown's approve command names, run from their "
    "checkout of the pull request; no -C of this run is added to it.",
)
@store_options
@handles_errors
def show(
    plan_file: Path,
    fmt: str,
    directory: Path | None,
    plan_name: str | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Render a saved plan (after checking it was not modified)."""
    from accesshive.operations import StoreRef, approval_verdicts, decline_verdicts

    # the hints name the repository the plan belongs to (-C, else the one found here:
    # the current directory, the plan's, or the one below whose configuration the plan
    # was made from) and the --env/--store given here
    if directory is not None:
        hints_point_at(directory)  # a refusal's `accesshive plan` names it
    saved = read_saved(plan_file, find_home=directory is None)
    home = point_hints_at_plan(plan_file, directory, saved.project, saved.config_digest)
    verdicts = None
    declined: Mapping[str, list[Decline]] | None = None
    if directory is not None and fmt != "json":  # text says what the comment says
        verdicts = approval_verdicts(
            directory, saved, StoreRef(environment, store_url, create=False)
        )
        declined = decline_verdicts(
            directory, saved, StoreRef(environment, store_url, create=False)
        )
    elif fmt != "json":
        # the repository the plan is shown in (-C, or the one it belongs to): its
        # declines are shown
        known = home if home is not None else _default_repository(plan_file)
        if (known / "accesshive.yaml").is_file():
            declined = _declines(known, saved, environment, store_url)
    shown_in = directory or home  # not a guess: another repository's reviewers say nothing
    shown = _render_plan(
        saved,
        fmt,
        plan_file=plan_file,
        approvals=verdicts,
        declines=declined,
        repository=shown_in if shown_in and (shown_in / "accesshive.yaml").is_file() else None,
        plan_name=plan_name,
    )
    if home is None and fmt != "json" and HINT.search(shown):
        click.secho(
            f"warning: which repository {plan_file} belongs to is not known here (none here, "
            "beside it or below holds the configuration it was made from, or several do): "
            "run the commands above from it, or give it to show with -C DIR",
            fg="yellow",
            err=True,
        )


def _declines(
    directory: Path, plan: Plan, environment: str | None, store_url: str | None
) -> Mapping[str, list[Decline]] | None:
    """The declines that hold for ``plan``'s orders in ``directory`` (its approvals files
    and what the store recorded from GitHub), for the text and Markdown renderings. A
    decline that cannot be checked is said on stderr (apply refuses the plan for it) and
    the plan is shown without declines."""
    from accesshive.errors import ApprovalError, StoreError
    from accesshive.operations import StoreRef, decline_verdicts

    try:
        return decline_verdicts(directory, plan, StoreRef(environment, store_url, create=False))
    except (ApprovalError, StoreError) as exc:
        click.secho(f"warning: declines not shown: {exc}", fg="yellow", err=True)
        return None


@click.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@format_option(
    "mermaid",
    "dot",
    help_text="mermaid (GitHub renders it in Markdown) or dot (Graphviz: dot -Tsvg).",
)
@handles_errors
def graph(plan_file: Path, fmt: str) -> None:
    """Print a saved plan's order graph as Mermaid or Graphviz DOT."""
    from accesshive.render import render_dot, render_mermaid

    saved = read_saved(plan_file, find_home=True)  # a refusal's `accesshive plan` names it
    click.echo(render_mermaid(saved) if fmt == "mermaid" else render_dot(saved), nl=False)


@click.command()
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
    from accesshive.config.schema import SchemaTarget, json_schema

    if out is None:
        click.echo(json.dumps(json_schema(cast(SchemaTarget, target)), indent=2, sort_keys=True))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in get_args(SchemaTarget):
        path = out / f"{name}.json"
        path.write_text(json.dumps(json_schema(name), indent=2, sort_keys=True) + "\n")
        click.echo(f"wrote {path}")
