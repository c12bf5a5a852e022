"""The ``audit`` group: verify the hash chain, export entries, forward them to a SIEM."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from accesshive.cli._options import OutputFile, format_option, handles_errors, store_options
from accesshive.cli._repository import repo_argument
from accesshive.errors import EXIT_ERROR


@click.group()
def audit() -> None:
    """The tamper-evident audit trail: verify, export, forward to a SIEM."""


@audit.command(name="verify")
@repo_argument
@format_option("text", "json")
@store_options
@handles_errors
def audit_verify(directory: Path, fmt: str, environment: str | None, store_url: str | None) -> None:
    """Check the hash chain and its signed checkpoints; name every edited, removed,
    reordered or cut-off entry.

    Checkpoints are signed with the key in $ACCESSHIVE_AUDIT_KEY (else the vault's
    $ACCESSHIVE_MASTER_KEY); $ACCESSHIVE_AUDIT_WITNESS names a file, outside the store,
    that keeps a copy of the latest one."""
    from accesshive.audit.verify import verify_log
    from accesshive.operations import StoreRef

    with StoreRef(environment, store_url, create=False).open(directory) as store:
        report = verify_log(store)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for warning in report.warnings:
            click.secho(f"! {warning}", fg="yellow", err=True)
        for problem in report.problems:
            click.secho(
                f"✗ audit log of '{report.environment}' is broken at {problem}",
                fg="red",
                err=True,
            )
        if report.intact:
            pinned = (
                f"; signed checkpoint at #{report.latest.seq} ({report.latest.at}) holds"
                if report.latest and report.signatures_checked
                else ""
            )
            click.secho(f"✓ {report.entries} audit entries, chain intact{pinned}", fg="green")
    if not report.intact:
        sys.exit(EXIT_ERROR)


@audit.command(name="export")
@repo_argument
@click.option("--since", default=None, help="Only entries at or after this ISO time.")
@format_option(
    "jsonl",
    "cef",
    help_text="jsonl: one JSON object per entry and line; cef: ArcSight Common Event Format, "
    "one event per line (errors are text either way).",
)
@click.option("--out", type=OutputFile(), default=None, help="Write the entries here.")
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
    from accesshive.audit.export import to_cef, to_jsonl
    from accesshive.operations import StoreRef

    with StoreRef(environment, store_url, create=False).open(directory) as store:
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
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="Audit entries per POST; where forwarding stands is kept after each batch the "
    "SIEM acknowledged, so the next run resumes there.",
)
@store_options
@handles_errors
def audit_forward(
    directory: Path, url: str, batch_size: int, environment: str | None, store_url: str | None
) -> None:
    """Post new audit entries to a SIEM webhook; resumes where the last run stopped."""
    from accesshive.audit.forward import forward
    from accesshive.operations import StoreRef

    with StoreRef(environment, store_url, create=False).open(directory) as store:
        sent = forward(store, url, batch_size, token=os.environ.get("ACCESSHIVE_SIEM_TOKEN"))
    click.echo(f"forwarded {sent} entries to {url}")
