"""Commands of identity sources (where identities come from): the ``import`` group
(``csv``, ``scim``) and the ``scim`` group (``token create``, ``serve``)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import click

from accesshive.cli._options import (
    actor,
    as_date,
    dir_option,
    format_option,
    handles_errors,
    store_options,
    today_option,
)
from accesshive.imports.yaml_writer import YamlChanges
from accesshive.operations import StoreRef, create_scim_token, import_csv, import_scim, serve_scim


@click.group()
def scim() -> None:
    """The SCIM 2.0 service provider that identity providers (Okta, Entra...) push to."""


@scim.group(name="token")
def scim_token() -> None:
    """Bearer tokens of the SCIM service provider."""


@scim_token.command(name="create")
@click.option("--source", "source_id", required=True, help="The identity source (kind scim).")
@dir_option()
@store_options
@handles_errors
def scim_token_create(
    source_id: str, directory: Path, environment: str | None, store_url: str | None
) -> None:
    """Make a bearer token for SOURCE; it is shown once, only its hash is kept."""
    revoked = create_scim_token(directory, source_id, StoreRef(environment, store_url), actor())
    click.echo(revoked[0])
    note = f"; the previous token ({revoked[1]}) no longer works" if revoked[1] else ""
    click.echo(f"(shown once: put it in the identity provider now{note})", err=True)


@scim.command(name="serve")
@click.option("--source", "source_id", required=True, help="The identity source (kind scim).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8787, show_default=True, help="Port (0: any free port).")
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
    """Pull Users and Groups from a SCIM 2.0 directory (for directories that cannot push)."""
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
