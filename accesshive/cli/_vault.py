"""The ``vault`` group: the master key and the encrypted non-human credentials."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from accesshive.cli._options import OutputFile, actor, format_option, handles_errors, store_options
from accesshive.cli._repository import F, dir_option


@click.group()
def vault() -> None:
    """The credential vault: encrypted non-human credentials."""


@vault.command(name="init")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the new master key (mode 600; never overwritten).",
)
@handles_errors
def vault_init(key_file: Path) -> None:
    """Generate a master key (AES-256) into a key file."""
    from accesshive.vault.operations import init_key

    key = init_key(key_file)
    click.echo(f"wrote master key {key.key_id} to {key_file} (readable by you only)")
    click.echo(
        "Point the vault source at it (connection.key_file), or put its content in a CI "
        "secret and use connection.key: ${env:ACCESSHIVE_MASTER_KEY}. Keep a backup: "
        "without it the vault cannot be opened."
    )


def _vault_args(func: F) -> F:
    func = click.option("--vault", "vault_name", default=None, help="The vault source.")(func)
    return dir_option()(func)


@vault.command(name="put")
@click.argument("identity")
@_vault_args
@store_options
@handles_errors
def vault_put(
    identity: str,
    directory: Path,
    vault_name: str | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Store IDENTITY's credential, read from stdin (never from the command line)."""
    from accesshive.operations import StoreRef
    from accesshive.pipeline import load_config
    from accesshive.vault.operations import put_secret, vault_source

    value = sys.stdin.read().strip("\r\n")
    config = load_config(directory, environment)
    with StoreRef(environment, store_url).open(directory) as store:
        info = put_secret(config, store, vault_source(config, vault_name), identity, value, actor())
    click.echo(f"stored {identity} ({info.kind}, version {info.version}, key {info.key_id})")


@vault.command(name="get")
@click.argument("identity")
@click.option("--reveal", is_flag=True, required=True, help="Confirm: print the secret in clear.")
@_vault_args
@store_options
@handles_errors
def vault_get(
    identity: str,
    reveal: bool,
    directory: Path,
    vault_name: str | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Print IDENTITY's credential in clear (recorded in the audit log)."""
    from accesshive.operations import StoreRef
    from accesshive.pipeline import load_config
    from accesshive.vault.operations import reveal_secret, vault_source

    config = load_config(directory, environment)
    with StoreRef(environment, store_url).open(directory) as store:
        click.echo(
            reveal_secret(config, store, vault_source(config, vault_name), identity, actor())
        )


@vault.command(name="list")
@_vault_args
@click.option(
    "--env",
    "environment",
    default=None,
    envvar="ACCESSHIVE_ENV",
    help="The environment whose vault is listed (its connection overlays; default: the "
    "project's default_environment).",
)
@format_option("text", "json")
@handles_errors
def vault_list(directory: Path, vault_name: str | None, environment: str | None, fmt: str) -> None:
    """Credentials in the vault: metadata only, never a secret.

    No --store: listing reads only the vault (no key, nothing recorded in the state store
    or its audit trail), unlike put, get and rotate-key.
    """
    from accesshive.pipeline import load_config
    from accesshive.vault.operations import list_secrets, vault_source

    config = load_config(directory, environment)
    infos = list_secrets(config, vault_source(config, vault_name))
    if fmt == "json":
        click.echo(json.dumps([i.__dict__ for i in infos], indent=2, sort_keys=True))
        return
    for i in infos:
        click.echo(
            f"{i.identity:<32} {i.kind:<22} key {i.key_id}  stored {i.stored_at}  "
            f"rotated {i.rotated_at}  v{i.version}"
        )
    if not infos:
        click.echo("The vault is empty.")


@vault.command(name="rotate-key")
@_vault_args
@click.option(
    "--key-out",
    type=OutputFile(),
    default=None,
    help="Where to write the new keyring when the key comes from the environment.",
)
@store_options
@handles_errors
def vault_rotate_key(
    directory: Path,
    vault_name: str | None,
    key_out: Path | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Re-wrap every secret's data key under a new master key (resumable after a crash)."""
    from accesshive.operations import StoreRef
    from accesshive.pipeline import load_config
    from accesshive.vault.operations import rotate_master_key, vault_source

    config = load_config(directory, environment)
    with StoreRef(environment, store_url).open(directory) as store:
        key, count = rotate_master_key(
            config, store, vault_source(config, vault_name), key_out, actor()
        )
    click.echo(f"re-wrapped {count} secret(s) under master key {key.key_id}")
    click.echo(
        "The key file now holds only the new master key: back it up where you kept the old "
        "one (and update the CI secret that holds it); a backup of the old key no longer "
        "opens these secrets."
    )
