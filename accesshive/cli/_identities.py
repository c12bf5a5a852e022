"""Commands of identity sources (where identities come from): the ``import`` group
(``csv``, ``scim``) and the ``scim`` group (``token create``, ``token list``,
``token revoke``, ``serve``)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from accesshive.cli._options import (
    actor,
    as_date,
    format_option,
    handles_errors,
    store_options,
    today_option,
)
from accesshive.cli._repository import dir_option

if TYPE_CHECKING:
    from accesshive.imports.yaml_writer import YamlChanges


@click.group()
def scim() -> None:
    """The SCIM 2.0 service provider that identity providers (Okta, Entra...) push to."""


@scim.group(name="token")
def scim_token() -> None:
    """Bearer tokens of the SCIM service provider."""


def _expiry(expires_in: str | None, expires: dt.datetime | None) -> dt.datetime | None:
    """When a new token stops working: ``--expires-in 90d`` (d, h or m) from now, or
    ``--expires`` (a date means 00:00 UTC of that day; a time without zone is UTC)."""
    if expires_in and expires:
        raise click.UsageError("give --expires-in or --expires, not both")
    if expires is not None:
        return expires if expires.tzinfo else expires.replace(tzinfo=dt.UTC)
    if not expires_in:
        return None
    units = {"d": "days", "h": "hours", "m": "minutes"}
    amount, unit = expires_in[:-1], expires_in[-1:].lower()
    if unit not in units or not amount.isdigit() or int(amount) == 0:
        raise click.BadParameter(
            f"'{expires_in}' is not a duration like 90d, 12h or 30m", param_hint="--expires-in"
        )
    return dt.datetime.now(dt.UTC) + dt.timedelta(**{units[unit]: int(amount)})


@scim_token.command(name="create")
@click.option("--source", "source_id", required=True, help="The identity source (kind scim).")
@click.option("--expires-in", help="Lifetime: 90d, 12h or 30m (default: until revoked).")
@click.option(
    "--expires",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]),
    help="Expiry as a date or date and time, UTC (default: until revoked).",
)
@click.option(
    "--keep-existing",
    is_flag=True,
    help="Keep the source's other tokens working (rotation: revoke the old one later).",
)
@dir_option()
@store_options
@handles_errors
def scim_token_create(
    source_id: str,
    expires_in: str | None,
    expires: dt.datetime | None,
    keep_existing: bool,
    directory: Path,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Make a bearer token for SOURCE; it is shown once, only its hash is kept."""
    from accesshive.operations import StoreRef, create_scim_token

    made = create_scim_token(
        directory,
        source_id,
        StoreRef(environment, store_url),
        actor(),
        _expiry(expires_in, expires),
        keep_existing,
    )
    click.echo(made.token)
    note = f"; the previous token(s) ({made.revoked}) no longer work" if made.revoked else ""
    until = f", expires {made.expires_at}" if made.expires_at else ""
    click.echo(
        f"(token {made.id}{until}; shown once: put it in the identity provider now{note})",
        err=True,
    )


@scim_token.command(name="list")
@click.option("--source", "source_id", help="Only this identity source's tokens.")
@format_option("text", "json")
@dir_option()
@store_options
@handles_errors
def scim_token_list(
    source_id: str | None,
    fmt: str,
    directory: Path,
    environment: str | None,
    store_url: str | None,
) -> None:
    """The bearer tokens: id, source, created, expires, last used, state (never a token)."""
    from accesshive.operations import StoreRef, list_scim_tokens

    tokens = list_scim_tokens(directory, StoreRef(environment, store_url), source_id)
    rows = [
        {
            "id": t.id,
            "source": t.source,
            "created": t.created_at,
            "expires": t.expires_at,
            "last_used": t.last_used_at,
            "revoked": t.revoked_at,
            "state": t.state(),
        }
        for t in tokens
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no scim tokens")
        return
    header = ("ID", "SOURCE", "CREATED", "EXPIRES", "LAST USED", "STATE")
    table = [header] + [
        (
            str(r["id"]),
            str(r["source"]),
            str(r["created"]),
            str(r["expires"] or "-"),
            str(r["last_used"] or "-"),
            str(r["state"]),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@scim_token.command(name="revoke")
@click.argument("token_id", metavar="ID", type=int)
@dir_option()
@store_options
@handles_errors
def scim_token_revoke(
    token_id: int, directory: Path, environment: str | None, store_url: str | None
) -> None:
    """Revoke token ID (from `scim token list`): its next request gets 401."""
    from accesshive.operations import StoreRef, revoke_scim_token

    found = revoke_scim_token(directory, StoreRef(environment, store_url), token_id, actor())
    click.echo(f"revoked token {found.id} of identity source '{found.source}'")


@scim.command(name="serve")
@click.option("--source", "source_id", required=True, help="The identity source (kind scim).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8787,
    show_default=True,
    help="Port (0: any free port).",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM certificate (chain) to serve HTTPS with; needs --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM private key of --tls-cert.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=30,
    show_default=True,
    help="Seconds a connection may stay silent (mid-request or idle) before it is closed.",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=1),
    default=30,
    show_default=True,
    help="Seconds the requests in flight at SIGTERM/SIGINT get to finish.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Worker threads (requests served at once).",
)
@dir_option()
@store_options
@handles_errors
def scim_serve(
    source_id: str,
    host: str,
    port: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    timeout: float,
    shutdown_timeout: float,
    threads: int,
    directory: Path,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Serve /scim/v2 (Users, Groups, ServiceProviderConfig, Schemas, ResourceTypes).

    The identity provider's tenant URL is the address printed at start. SIGTERM or
    SIGINT stops it gracefully: requests in flight are answered first."""
    from accesshive.idp.serving import ServeOptions
    from accesshive.operations import StoreRef, serve_scim

    options = ServeOptions(
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        timeout=timeout,
        shutdown_timeout=shutdown_timeout,
        threads=threads,
    )

    def announce(url: str) -> None:
        click.echo(f"accesshive scim serve: identity source '{source_id}' at {url}")

    serve_scim(directory, source_id, StoreRef(environment, store_url), options, announce)
    click.echo(f"accesshive scim serve: identity source '{source_id}' stopped", err=True)


@click.group(name="import")
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
    from accesshive.operations import StoreRef, import_csv

    changes = import_csv(
        directory, file, source_id, as_date(today), write_yaml, StoreRef(environment, store_url)
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
    """Pull Users and Groups from a SCIM 2.0 directory (for directories that cannot push).

    No --env or --store: it reads the directory and (with --write-yaml) writes the
    repository's identity files, nothing else; without --write-yaml it only says what they
    would get. (import csv keeps its rows in the state store instead.)
    """
    from accesshive.operations import import_scim

    changes = import_scim(
        directory, url, source_id, os.environ.get(token_env), as_date(today), write_yaml
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
