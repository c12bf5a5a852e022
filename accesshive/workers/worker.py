"""``accesshive worker``: runs the jobs ``apply --workers`` queues, with the executor's own
code (``Executor.execute``: the same batches, retries, breaker, verification, resume).

A worker holds no state of its own: the plan is read from the store (apply saved it),
the configuration from the worker's checkout of the repository (refused when it is not
the plan's), the orders' states from the store. Each job thread has its own store
connection; each job its own executor (``jobs.JobExecutor``), built from the store as
it is when the job starts, so an order a dead worker left ``transmitted`` is looked for
on the target before it is sent again. What is the same for every job of a plan (its
content, what it says of accounts) or of a run (the connectors) is kept between jobs:
``jobs.py`` says what and why it cannot be stale. An idle worker reads the newest plan
saved in the store ahead of its jobs (``preload_newest``), so that a first job does not
spend its source's slot reading it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from accesshive.apply.executor import Progress
from accesshive.config import Config
from accesshive.errors import PlanFileError, StalePlanError, StoreError
from accesshive.operations._common import StoreRef
from accesshive.pipeline import load_config
from accesshive.plan.model import Plan
from accesshive.plan.planfile import from_json
from accesshive.plan.states import DONE, FAILED
from accesshive.workers.engine import (
    SYNC_TASK,
    TASK,
    JobArgs,
    SyncArgs,
    ensure_schema,
    make_app,
    orders_queue,
    postgres_url,
    queue_name,
    sync_queue,
)
from accesshive.workers.jobs import JobExecutor, JobStore, PlanIndex, RunPools
from accesshive.workers.outages import SharedOutages
from accesshive.workers.ratelimit import SharedWriteLimits
from accesshive.workers.syncing import run_sync_job

if TYPE_CHECKING:
    from procrastinate import JobContext

log = logging.getLogger(__name__)


@dataclass
class WorkerRuntime:
    """What a worker's jobs share: the repository, the store, the loaded config and
    plans (by digest), one store connection per job thread, the runs' connectors."""

    root: Path
    store: StoreRef
    progress: Progress
    url: str
    """The store's PostgreSQL URL, for the per-job locks (``held``)."""
    write_limits: SharedWriteLimits
    """The sources' write rate limits, in the store: they hold across all workers."""
    outages: SharedOutages
    """The sources' breakers, in the store: a source down for one worker is for all."""
    pools: RunPools
    """The connectors of each run, shared by its jobs on this worker."""
    _configs: dict[str, Config] = field(default_factory=dict)
    _plans: OrderedDict[str, tuple[Plan, PlanIndex]] = field(default_factory=OrderedDict)
    _loading: dict[str, threading.Lock] = field(default_factory=dict)
    """A lock per plan being read: one read of a plan at a time, others' not held up."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    @contextmanager
    def held(self, job_id: int) -> Iterator[None]:
        """A session advisory lock on the job, on this thread's own connection: a job
        handed to another worker while its first worker still runs it (a heartbeat late,
        not a death) waits here until the first is done, then finds its orders done. A
        killed worker's connection dies with it, and PostgreSQL frees its locks at once."""
        import psycopg

        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = psycopg.connect(self.url, autocommit=True)
        key = int.from_bytes(
            hashlib.sha256(f"accesshive:job:{job_id}".encode()).digest()[:8], "big", signed=True
        )
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def opened(self) -> JobStore:
        store: JobStore | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = JobStore(self.url, self.store.name(self.root))
            store.migrate()
        return store

    def config_for(self, digest: str) -> Config:
        """The repository's configuration, which must be the plan's: a worker whose
        checkout is elsewhere reloads it once (it may have been updated), then refuses."""
        with self._lock:
            if digest not in self._configs:
                config = load_config(self.root, self.store.environment)
                self._configs[config.digest] = config
                if config.digest != digest:
                    raise StalePlanError(
                        f"this worker's repository {self.root} is at config "
                        f"{config.digest[:12]}, the plan is for config {digest[:12]}: check "
                        "out the commit the plan was made from and restart the worker"
                    )
            return self._configs[digest]

    def plan(self, store: JobStore, digest: str) -> tuple[Plan, PlanIndex]:
        """The plan of ``digest``, read, checked against its digest and indexed once (a
        digest is its content's hash); the ``PLANS_KEPT`` last used are kept."""
        with self._lock:
            loading = self._loading.setdefault(digest, threading.Lock())
        with loading:
            with self._lock:
                found = self._plans.get(digest)
                if found is not None:
                    self._plans.move_to_end(digest)
                    return found
            content = store.plan_content(digest)
            if content is None:
                raise StoreError(f"plan {digest[:16]} is not in the store {store.location}")
            plan = from_json(json.loads(content), f"plan {digest[:16]}")
            if plan.digest != digest:  # a plan's own, but saved under another's digest
                raise PlanFileError(
                    f"plan {digest[:16]} in the store {store.location} was modified after it "
                    f"was written: it holds plan {plan.digest[:16]}; plan again"
                )
            found = (plan, PlanIndex.of(plan))
            with self._lock:
                self._plans[digest] = found
                while len(self._plans) > PLANS_KEPT:
                    self._plans.popitem(last=False)
                self._loading.pop(digest, None)
            return found

    def has_plan(self, digest: str) -> bool:
        with self._lock:
            return digest in self._plans


PLANS_KEPT = 4
"""Plans a worker keeps read (the ones applied now, and the newest saved)."""

LOOK_FOR_PLANS = 2.0
"""Seconds between two looks of an idle worker for a newly saved plan (``preload``)."""


def preload_newest(runtime: WorkerRuntime, store: JobStore, refused: set[str]) -> str | None:
    """Read the environment's newest saved plan now, if this worker has not: ``accesshive
    plan`` and apply save it in the store before apply queues its first job, so its
    jobs find it read (at 20,000 orders, seconds of a worker's CPU, checking the digest)
    instead of reading it in their first job, which holds one of a source's slots. A
    plan that fails its check is ``refused`` (not read again here; its jobs fail with
    the reason). The digest of the plan read, or None."""
    digest = store.newest_plan()
    if digest is None or digest in refused or runtime.has_plan(digest):
        return None
    try:
        runtime.plan(store, digest)
    except PlanFileError as exc:
        refused.add(digest)
        log.warning("the newest plan in the store is not read ahead: %s", exc)
        return None
    return digest


def _preload(runtime: WorkerRuntime, stop: threading.Event) -> None:
    """``preload_newest`` every ``LOOK_FOR_PLANS`` seconds until ``stop``, on a store
    connection of its own; best effort: a failure is logged, and the jobs read their
    plan themselves as before."""
    refused: set[str] = set()
    store: JobStore | None = None
    try:
        while True:
            try:
                if store is None:
                    store = JobStore(runtime.url, runtime.store.name(runtime.root))
                if store.has_schema():
                    preload_newest(runtime, store, refused)
            except Exception as exc:  # best effort: a job reads its plan itself anyway
                log.warning("reading the newest plan ahead failed: %s", exc)
                if store is not None:
                    store.close()
                    store = None
            if stop.wait(LOOK_FOR_PLANS):
                return
    finally:
        if store is not None:
            store.close()


def run_job(runtime: WorkerRuntime, job: JobArgs) -> None:
    """Run one job: its orders that this run has not finished yet, through the executor.

    A job of a run that is not the environment's latest unfinished one is skipped: its
    apply died and a newer run took over (which queued the rest again itself)."""
    store = runtime.opened()
    latest = store.latest_run()
    if latest is None or latest["id"] != job["run"] or latest["finished_at"]:
        return
    plan, index = runtime.plan(store, job["plan"])
    config = runtime.config_for(plan.config_digest)
    events = store.latest_events(plan.digest, set(job["orders"]))
    over = {
        oid
        for oid, (run, event) in events.items()
        if event.state in DONE or (run == job["run"] and event.state in FAILED)
    }
    todo = [index.orders[oid] for oid in job["orders"] if oid not in over]
    if not todo:
        return  # a job taken over after its worker had finished it
    lane = job["lane"]
    unreachable = {lane: job["unreachable"]} if lane is not None and job["unreachable"] else {}
    prior = {oid: event for oid, (_, event) in events.items()}
    with store.scoped(plan.digest, prior), runtime.pools.pool(job["run"], config) as pool:
        executor = JobExecutor(
            config,
            plan,
            store,
            job["run"],
            index=index,
            orders=todo,
            pool=pool,
            inactive=job["inactive"],
            accounts=job["accounts"],
            unreachable=unreachable,
            progress=runtime.progress,
            write_limits=runtime.write_limits,
            breaker=runtime.outages.breaker(job["run"]),
        )
        try:
            executor.execute(lane, todo)
        finally:
            executor.keeper.close()


def _warm(config: Config) -> None:
    """Import the connectors of the configured sources before taking jobs: the SCIM one
    builds its client's pydantic models on import (seconds of CPU), which would
    otherwise be paid inside the first job, while it holds one of its source's slots."""
    from accesshive.connectors.registry import connector_class

    for source in config.sources.values():
        connector_class(str(source.connection.get("connector", source.kind)))


def serve(
    root: Path,
    store: StoreRef,
    concurrency: int,
    heartbeat: float,
    progress: Progress,
    ready: Callable[[str], None] = lambda queue: None,
) -> None:
    """Run jobs of the environment's queue until SIGINT or SIGTERM (a job under way is
    finished first; SIGKILL loses nothing either: the job is taken over)."""
    url = postgres_url(store.location(root))
    environment = store.name(root)
    config = load_config(root, environment)  # a broken checkout fails here, not in every job
    _warm(config)
    ensure_schema(url)
    limits = SharedWriteLimits(url, queue_name(environment))
    outages = SharedOutages(url, queue_name(environment))
    pools = RunPools(limits)
    runtime = WorkerRuntime(root, StoreRef(environment, url), progress, url, limits, outages, pools)
    app = make_app(url)

    @app.task(name=TASK, pass_context=True)
    def run_orders(context: JobContext, /, **args: Any) -> None:
        assert context.job.id is not None
        with runtime.held(context.job.id):
            run_job(runtime, cast(JobArgs, args))

    @app.task(name=SYNC_TASK, pass_context=True)
    def sync_source(context: JobContext, /, **args: Any) -> None:
        assert context.job.id is not None
        with runtime.held(context.job.id):
            run_sync_job(runtime, cast(SyncArgs, args))

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    threading.Thread(
        target=_preload, args=(runtime, stop), name="accesshive-preload", daemon=True
    ).start()
    orders = orders_queue(environment, config.digest)  # this checkout's plans only
    reads = sync_queue(environment)
    ready(f"{orders} (orders of plans of config {config.digest[:12]}) and {reads} (source reads)")
    try:
        app.run_worker(
            queues=[orders, sync_queue(environment)],
            concurrency=concurrency,
            update_heartbeat_interval=heartbeat,
            stalled_worker_timeout=max(30.0, 3 * heartbeat),
        )
    finally:
        stop.set()
        pools.close()
        limits.close()
        outages.close()
