"""The ``console`` group: serve the web console, and make, list and revoke the tokens
of the operators who may act in it.

Starlette and uvicorn are imported only when the console is served, so that listing the
commands (``accesshive --help``) or making a token does not load them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from accesshive.cli._identities import _expiry
from accesshive.cli._options import (
    actor,
    format_option,
    handles_errors,
    store_options,
    today_option,
)
from accesshive.cli._repository import dir_option


@click.group(invoke_without_command=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every interface; put TLS in front of it).",
)
@click.option(
    "--port",
    default=8300,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: a free one; the startup line says which).",
)
@click.option(
    "--read-only",
    is_flag=True,
    help="Refuse every sign-in: nobody can retry from this console, whatever token they hold.",
)
@dir_option()
@today_option
@store_options
@click.pass_context
@handles_errors
def console(
    ctx: click.Context,
    host: str,
    port: int,
    read_only: bool,
    directory: Path,
    today: dt.datetime | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Serve the web console of the repository (-C DIR) and environment: identities and
    their steps, runs, reviews, orphans and drift, the audit trail.

    Read-only unless an operator signs in with a token from `accesshive console token
    create`; a signed-in operator may Retry an identity's failed steps.
    """
    if ctx.invoked_subcommand is not None:
        return
    from accesshive.console.app import Console, serve
    from accesshive.operations import StoreRef

    store = StoreRef(environment, store_url, create=False)
    store.name(directory)  # an undeclared --env is refused before anything listens
    if store.location(directory):
        with store.open(directory):
            pass  # and so is a --store that does not exist (the console only reads)
    served = Console(directory, store, today.date() if today else None, read_only)
    serve(served, host, port, lambda url: click.echo(f"accesshive console at {url}"))


@console.group(name="token")
def console_token() -> None:
    """Operator tokens: who may act (Retry) in the console."""


@console_token.command(name="create")
@click.option("--operator", required=True, help="Who the token is for (name or login).")
@click.option("--expires-in", help="Lifetime: 90d, 12h or 30m (default: until revoked).")
@click.option(
    "--expires",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]),
    help="Expiry as a date or date and time, UTC (default: until revoked).",
)
@dir_option()
@store_options
@handles_errors
def console_token_create(
    operator: str,
    expires_in: str | None,
    expires: dt.datetime | None,
    directory: Path,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Make an operator token; it is shown once, only its hash is kept."""
    from accesshive.console.operators import create_operator_token
    from accesshive.operations import StoreRef

    made = create_operator_token(
        directory, StoreRef(environment, store_url), operator, actor(), _expiry(expires_in, expires)
    )
    click.echo(made.token)
    until = f", expires {made.expires_at}" if made.expires_at else ""
    click.echo(
        f"(console token {made.id} for {made.operator}{until}; shown once: sign in with it "
        "on the console's Sign in page)",
        err=True,
    )


@console_token.command(name="list")
@format_option("text", "json")
@dir_option()
@store_options
@handles_errors
def console_token_list(
    fmt: str, directory: Path, environment: str | None, store_url: str | None
) -> None:
    """The operator tokens: id, operator, created, expires, last used (its latest sign-in
    or Retry), state (never a token)."""
    from accesshive.console.operators import list_operator_tokens
    from accesshive.operations import StoreRef

    rows = [
        {
            "id": t.id,
            "operator": name,
            "created": t.created_at,
            "expires": t.expires_at,
            "revoked": t.revoked_at,
            "last_used": t.last_used_at,
            "state": t.state(),
        }
        for t, name in list_operator_tokens(
            directory, StoreRef(environment, store_url, create=False)
        )
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no console tokens")
        return
    click.echo(
        f"{'ID':<5} {'OPERATOR':<20} {'CREATED':<26} {'EXPIRES':<26} {'LAST USED':<26} STATE"
    )
    for r in rows:
        click.echo(
            f"{r['id']:<5} {r['operator']:<20} {r['created']:<26} {r['expires'] or '-':<26} "
            f"{r['last_used'] or 'never':<26} {r['state']}"
        )


@console_token.command(name="revoke")
@click.argument("token_id", type=int)
@dir_option()
@store_options
@handles_errors
def console_token_revoke(
    token_id: int, directory: Path, environment: str | None, store_url: str | None
) -> None:
    """Revoke operator token TOKEN_ID: the console is read-only for it from its next request."""
    from accesshive.console.operators import revoke_operator_token
    from accesshive.operations import StoreRef

    found = revoke_operator_token(
        directory, StoreRef(environment, store_url, create=False), token_id, actor()
    )
    click.echo(f"console token {found.id} revoked")
