"""The job queue of ``apply --workers`` and ``accesshive worker``: procrastinate, in the
PostgreSQL store's own database (its ``procrastinate_*`` tables beside the store's).

Why procrastinate (ARCHITECTURE.md, "Scale-out"): a job is a row; a worker that dies is
found by its missing heartbeat and its job handed to another worker; a job's ``lock``
runs the jobs holding the same lock one at a time across every worker, even while the
holder is dead and not yet found. The order states stay the store's: the queue only
says which worker runs which job.

One queue per environment (``queue_name``), one task (``TASK``): a job is one job of the
executor's walk (a lane's batch, or one order), with what the worker needs to run it
that the store does not hold (``JobArgs``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from accesshive.errors import StoreError

if TYPE_CHECKING:
    import procrastinate

    from accesshive.apply.executor import Executor

TASK = "accesshive.run_orders"
"""What a worker runs for apply: some orders of one run of one plan."""

SYNC_TASK = "accesshive.sync_source"
"""What a worker runs for ``sync --workers``: read one source, store its snapshot."""


class JobArgs(TypedDict):
    """A job's arguments (JSON in the queue). Nothing secret: ids and messages."""

    plan: str
    """The plan's digest (its content is in the store, saved by apply)."""
    run: int
    lane: str | None
    """The source whose account orders these are, or None for one order alone."""
    orders: list[str]
    inactive: list[str]
    """Of ``orders``, those the live read found already done (recorded ``inactive``)."""
    accounts: dict[str, str]
    """Of ``orders``, order id → the account the live read found it acts on."""
    unreachable: str | None
    """Why the lane's source gets nothing sent (it could not be read at the start)."""


class SyncArgs(TypedDict):
    """A sync job's arguments (JSON in the queue)."""

    sync: str
    """The sync's id (its sources' outcomes are kept under it: ``workers/syncing.py``)."""
    config: str
    """The digest of the configuration the sync was started from."""
    source: str


def queue_name(environment: str) -> str:
    """The environment's name in the store's shared tables (write limits, outages)."""
    return f"accesshive.{environment}"


def orders_queue(environment: str, config_digest: str) -> str:
    """The queue of a plan's jobs: one per configuration, so that only workers whose
    checkout is the plan's take them. During a rolling update (old and new workers side
    by side), a job an old worker took would fail the whole apply; here old workers
    never see it, and finish their own plans' jobs."""
    return f"accesshive.{environment}.orders.{config_digest[:12]}"


def sync_queue(environment: str) -> str:
    """Sync's jobs have a queue of their own: an apply clearing what a dead apply left in
    its queue (``Dispatcher._settle``) never cancels a sync's reads, nor the reverse."""
    return f"accesshive.{environment}.sync"


def slot_lock(environment: str, source: str, slot: int) -> str:
    """One of a source's ``concurrency`` slots: jobs holding the same lock run one at a
    time across all workers, so a source never has more jobs running than slots."""
    return f"accesshive.{environment}/{source}#{slot}"


def postgres_url(url: str | None) -> str:
    """The store's URL, which must be PostgreSQL: workers on other machines share it."""
    if not url or not url.startswith(("postgresql://", "postgres://")):
        raise StoreError(
            "workers need the shared PostgreSQL store (the queue lives in it): give "
            "--store postgresql://HOST/DB, set ACCESSHIVE_STORE, or set the environment's "
            "store: in accesshive.yaml; without --workers, apply and sync run in this process"
        )
    return url


def make_app(url: str) -> procrastinate.App:
    try:
        import procrastinate
    except ImportError as exc:  # pragma: no cover - the extra is part of [test]
        raise StoreError("workers need procrastinate: pip install 'accesshive[workers]'") from exc
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))


_SCHEMA_KEY = int.from_bytes(
    hashlib.sha256(b"accesshive:procrastinate schema").digest()[:8], "big", signed=True
)


def ensure_schema(url: str) -> None:
    """Create procrastinate's tables in the store's database the first time, and the
    write rate limits' (under an advisory lock, so that workers starting together create
    them once), and the breakers'."""
    import psycopg
    from procrastinate.schema import SchemaManager

    from accesshive.workers.outages import TABLE as OUTAGES
    from accesshive.workers.ratelimit import TABLE as BUCKETS
    from accesshive.workers.syncing import TABLE as SYNCS

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_KEY,))
            try:
                row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
                if row is None or row[0] is None:
                    with conn.transaction():
                        conn.execute(SchemaManager.get_schema())
                conn.execute(BUCKETS)  # the sources' shared write rate limits
                conn.execute(OUTAGES)  # the sources' shared breakers
                conn.execute(SYNCS)  # what the workers' reads of a sync found
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_KEY,))
    except psycopg.Error as exc:
        raise StoreError(f"cannot prepare the job queue in the store: {exc}") from exc


@dataclass(frozen=True)
class Workers:
    """``apply --workers``: how long a worker may go without a heartbeat before its jobs
    are given to another worker."""

    takeover_after: float = 30.0


def prepare_queue(location: str | None) -> str:
    """The store's URL (PostgreSQL), with the job queue's tables ready: what apply does
    before it takes the environment's lock."""
    url = postgres_url(location)
    ensure_schema(url)
    return url


def executor_for(url: str | None, workers: Workers | None) -> tuple[type[Executor], dict[str, Any]]:
    """The executor class apply builds, with its extra arguments: the one of this process
    (no workers), or the one whose jobs run on workers."""
    from accesshive.apply.executor import Executor

    if url is None or workers is None:
        return Executor, {}
    from accesshive.workers.dispatch import WorkerExecutor

    return WorkerExecutor, {"url": url, "takeover_after": workers.takeover_after}
