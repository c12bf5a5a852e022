"""``accesshive worker``: a process that runs the orders ``apply --workers`` queues and
the source reads ``sync --workers`` queues.

Why a command of its own: workers run on other machines (CI runners, a Kubernetes
Deployment), each with a checkout of the repository and the PostgreSQL store's URL;
the apply that queues the orders waits for them and reports as without workers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from accesshive.cli._options import format_option, store_options
from accesshive.cli._repository import dir_option

if TYPE_CHECKING:
    from accesshive.plan.orders import Order


@click.command()
@dir_option()
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Jobs this worker runs at once (a source's own concurrency holds across workers).",
)
@click.option(
    "--heartbeat",
    type=click.FloatRange(0.1, 300),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How often the worker says it is alive; apply --takeover-after must be longer.",
)
@format_option("text", "json")
@store_options
def worker(
    directory: Path,
    concurrency: int,
    heartbeat: float,
    fmt: str,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Run the orders and source reads that `apply --workers` and `sync --workers` queue.

    Any number of workers, on any machines, each with a checkout of the repository at the
    plan's commit and the same PostgreSQL store (--store or ACCESSHIVE_STORE). Each order's
    state is printed as it is recorded (one JSON object a line with --format json).
    SIGTERM finishes the jobs under way; a worker killed outright loses nothing: apply
    hands its jobs to another worker.
    """
    from accesshive.operations import StoreRef
    from accesshive.render.describe import summary_line
    from accesshive.terminal_text import shown
    from accesshive.workers.worker import serve

    def progress(order: Order, state: str, message: str | None) -> None:
        if fmt == "json":
            line = json.dumps({"order": order.id, "state": state, "message": message})
        else:
            line = f"{state:<18} {shown(summary_line(order))}  [{order.id}]"
            if message:
                line += f"\n{'':<19}{shown(message)}"
        click.echo(line)

    def ready(queue: str) -> None:
        click.echo(f"worker: running jobs of the queues {queue}", err=True)

    serve(directory, StoreRef(environment, store_url), concurrency, heartbeat, progress, ready)
