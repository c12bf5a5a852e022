"""``status``: where each identity's provisioning stands, and each step of one identity's
flow.

Why a module of its own: it reads the store and runs nothing, and its one subtle part is
its own, ``[DIR] [IDENTITY]``: telling a repository from an identity id when only one
argument is given (``_status_subject``).
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from accesshive.cli._options import (
    as_date,
    format_option,
    handles_errors,
    store_options,
    today_option,
)
from accesshive.cli._repository import dir_option, hints_point_at, runnable
from accesshive.terminal_text import shown

if TYPE_CHECKING:
    from accesshive.operations.status import Step


def _print_steps(steps: Sequence[Step]) -> None:
    from accesshive.render.describe import summary_line

    for step in steps:
        at = step.at or "-"
        line = shown(summary_line(step.order))
        click.echo(f"  {step.state:<18} {at:<25} {line}  [{step.order.id}]")
        if step.message:  # a target's or apply's message may say what to run: runnable
            click.echo(f"  {'':<18} {'':<25} {runnable(shown(step.message))}")


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
            from accesshive.errors import AccessHiveError  # not found: exit 1, as retry's

            raise AccessHiveError(naming("identity", identity, known))
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
        click.secho(shown(f"{s.status:<12} {s.identity}{extra}"), fg=colours[s.status])
        if identity is None:
            continue
        if not s.outstanding:
            click.echo("  every step of its desired state is done")
        _print_steps(s.outstanding)
        from accesshive.plan.states import DONE

        # what is done, of its current flow or of an earlier one, is listed under "already
        # done", never among what is outstanding; a step of an earlier flow that never
        # finished (a leaver's grant still waiting when the person left, a cancelled task)
        # is not "done": it is listed apart
        done = tuple(step for step in s.steps if step.state in DONE)
        done += tuple(h for h in history if h.state in DONE)
        earlier = tuple(h for h in history if h.state not in DONE)
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
