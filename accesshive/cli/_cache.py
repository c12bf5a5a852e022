"""The ``cache`` group: what the caches behind warm plans hold, and pruning them.

``accesshive.cache.store`` (pickle, hashlib, tempfile ...) is imported inside the
commands: ``cache --help`` and option errors do not need it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from accesshive.cli._options import format_option, handles_errors

if TYPE_CHECKING:
    from accesshive.cache.store import Usage


@click.group(name="cache")
def cache_group() -> None:
    """The caches behind warm plans (parse, check, render, diff), outside the repository.

    Their directory is ``$ACCESSHIVE_CACHE_DIR`` (``off`` turns them off), else
    ``~/.cache/accesshive/parse``. Entries are only ever a speed-up: removing any of
    them, at any time, makes the next plan slower, never different.
    """


def _show(found: Usage | None, fmt: str, pruned: bool) -> None:
    if fmt == "json":
        from dataclasses import asdict

        click.echo(json.dumps(asdict(found) if found else None, indent=2, sort_keys=True))
    elif found is None:
        click.echo("The caches are off (ACCESSHIVE_CACHE_DIR=off).")
    else:
        if pruned:
            click.echo(f"Removed {found.removed} entries ({found.freed / 2**20:.1f} MiB).")
        click.echo(f"{found.location}: {found.entries} entries, {found.bytes / 2**20:.1f} MiB")


@cache_group.command(name="info")
@format_option("text", "json")
@handles_errors
def cache_info(fmt: str) -> None:
    """Where the caches are, and how much they hold."""
    from accesshive.cache import store

    _show(store.usage(), fmt, pruned=False)


@cache_group.command(name="prune")
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Remove entries no run has read for this many days.",
)
@format_option("text", "json")
@handles_errors
def cache_prune(days: float, fmt: str) -> None:
    """Remove entries no run has used lately, and those of older accesshive versions.

    Meant for a nightly job or a CI cache step; safe while plans run.
    """
    from accesshive.cache import store

    _show(store.prune(days), fmt, pruned=True)
