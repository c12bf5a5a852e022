"""The ``audit`` group: verify the hash chain, export entries, forward them to a SIEM."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from accesshive.audit.chain import verify_chain
from accesshive.audit.export import to_cef, to_jsonl
from accesshive.audit.forward import forward
from accesshive.cli._options import format_option, handles_errors, repo_argument, store_options
from accesshive.errors import EXIT_ERROR
from accesshive.operations import StoreRef


@click.group()
def audit() -> None:
    """The tamper-evident audit trail: verify, export, forward to a SIEM."""


@audit.command(name="verify")
@repo_argument
@store_options
@handles_errors
def audit_verify(directory: Path, environment: str | None, store_url: str | None) -> None:
    """Check the hash chain; name the first edited, removed or reordered entry."""
    with StoreRef(environment, store_url).open(directory) as store:
        entries = store.audit_entries()
        problem = verify_chain(entries, store.anchors())
    if problem is not None:
        click.secho(f"✗ audit log of '{environment}' is broken at {problem}", fg="red", err=True)
        sys.exit(EXIT_ERROR)
    click.secho(f"✓ {len(entries)} audit entries, chain intact", fg="green")


@audit.command(name="export")
@repo_argument
@click.option("--since", default=None, help="Only entries at or after this ISO time.")
@format_option("jsonl", "cef")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@store_options
@handles_errors
def audit_export(
    directory: Path,
    since: str | None,
    fmt: str,
    out: Path | None,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Write audit entries as JSON Lines or CEF for SIEM tools."""
    with StoreRef(environment, store_url).open(directory) as store:
        entries = store.audit_entries(since=since)
    text = to_jsonl(entries) if fmt == "jsonl" else to_cef(entries)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(entries)} entries to {out}", err=True)


@audit.command(name="forward")
@repo_argument
@click.option("--url", required=True, help="The SIEM webhook (token from ACCESSHIVE_SIEM_TOKEN).")
@click.option("--batch-size", type=int, default=200, show_default=True)
@store_options
@handles_errors
def audit_forward(
    directory: Path, url: str, batch_size: int, environment: str | None, store_url: str | None
) -> None:
    """Post new audit entries to a SIEM webhook; resumes where the last run stopped."""
    with StoreRef(environment, store_url).open(directory) as store:
        sent = forward(store, url, batch_size, token=os.environ.get("ACCESSHIVE_SIEM_TOKEN"))
    click.echo(f"forwarded {sent} entries to {url}")
