"""``apply --workers``: the executor's walk, with its jobs run by ``accesshive worker``
processes instead of threads of this process.

Only where a job runs changes (``Executor._jobs``): the walk is the executor's own, so
the dependency order, the gates, the declines, what is blocked below a failure and
the lanes (at most a source's ``concurrency`` jobs of it at once) are the same as in
process. Each job is queued with a slot lock of its source (``engine.slot_lock``), so
the engine itself never runs more of a source's jobs at once than it has slots, on
however many workers, even while a dead worker's job waits to be taken over.

A worker writes its orders' states to the store, as the executor does in process; when
its job is over, the dispatcher reads them back (``latest_events``) into this run's
result before it lets the walk go on. A job whose worker stopped sending heartbeats for
``takeover_after`` seconds is queued again (``retry_job``): another worker runs it, and
first looks on the target at what the dead one left ``transmitted`` (the executor's
``_already_done``, as after a crashed apply).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from queue import Queue
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from accesshive.apply.executor import Executor, Start
from accesshive.config import Config
from accesshive.errors import AccessHiveError, StoreError
from accesshive.plan.kinds import CREDENTIAL_ACTIONS, OrderKind
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.plan.states import OrderState
from accesshive.store import Store
from accesshive.tasks import task_id
from accesshive.workers.engine import (
    TASK,
    JobArgs,
    make_app,
    orders_queue,
    queue_name,
    slot_lock,
)
from accesshive.workers.outages import SharedOutages
from accesshive.workers.ratelimit import SharedWriteLimits

if TYPE_CHECKING:
    import procrastinate

POLL = 0.1
"""Seconds between two looks at the queue (job outcomes, jobs to take over)."""

ENDED = ("failed", "cancelled", "aborted")
"""Job statuses that are over without the job having run to its end."""


class WorkerJobFailed(AccessHiveError):
    """A job ended on a worker without running to its end: a bug, or a worker whose
    repository is not the plan's; what it did is recorded, the rest runs on re-apply."""


class WorkerExecutor(Executor):
    """The executor whose jobs run on workers; see the module docstring."""

    def __init__(
        self,
        config: Config,
        plan: Plan,
        store: Store,
        *args: Any,
        url: str,
        takeover_after: float,
        **kwargs: Any,
    ) -> None:
        # the orders run here (vault writers) share the workers' write rate limits
        self.write_limits = SharedWriteLimits(url, queue_name(store.environment))
        kwargs["write_limits"] = self.write_limits
        super().__init__(config, plan, store, *args, **kwargs)
        # a source the workers found down is down here too, and in this run's result
        self.outages = SharedOutages(url, queue_name(store.environment))
        self.breaker = self.outages.breaker(self.run_id)
        # jobs in flight are bounded per source by the lanes, not by this process's
        # threads: every source may have all its slots busy at once
        self.max_workers = max(
            self.max_workers, sum(s.concurrency for s in self.config.sources.values())
        )
        self.url = url
        self.takeover_after = takeover_after
        self._orders = {o.id: o for o in plan.orders}  # Plan.order scans them all
        self._slots: dict[str, set[int]] = {}
        self._slots_lock = threading.Lock()

    @contextmanager
    def _jobs(self) -> Iterator[Start]:
        environment = self.store.environment
        dispatcher: Dispatcher[JobArgs] = Dispatcher(
            make_app(self.url),
            orders_queue(environment, self.plan.config_digest),
            self.takeover_after,
            self._collect,
        )
        dispatcher.start()
        try:
            with ThreadPoolExecutor(max_workers=4) as threads:

                def start(lane: str | None, batch: list[Order]) -> Future[None]:
                    if any(_keeps_secret(o) for o in batch):
                        return threads.submit(self.execute, lane, batch)
                    return self._submit(dispatcher, lane, batch)

                yield start
        finally:
            dispatcher.stop()
            self.write_limits.close()
            self.outages.close()

    def _submit(
        self, dispatcher: Dispatcher[JobArgs], lane: str | None, batch: list[Order]
    ) -> Future[None]:
        lock = None
        if lane is not None:
            with self._slots_lock:
                free = self._slots.setdefault(
                    lane, set(range(self.config.sources[lane].concurrency))
                )
                slot = min(free)  # the lanes start no more jobs of a source than it has slots
                free.remove(slot)
            lock = slot_lock(self.store.environment, lane, slot)
        args = JobArgs(
            plan=self.plan.digest,
            run=self.run_id,
            lane=lane,
            orders=[o.id for o in batch],
            inactive=[o.id for o in batch if o.id in self.inactive],
            accounts={o.id: a for o in batch if (a := self.live_accounts.get(o.id))},
            unreachable=self.unreachable.get(lane) if lane is not None else None,
        )
        return dispatcher.submit(args, lock)

    def _collect(self, job: JobArgs, lock: str | None) -> None:
        """A job is over: its orders' states, as the worker recorded them, into this
        run's result (and its slot free again), before the walk looks at them."""
        if lock is not None and job["lane"] is not None:
            with self._slots_lock:
                self._slots[job["lane"]].add(int(lock.rsplit("#", 1)[1]))
        with self._store_lock:
            events = self.store.latest_events(self.plan.digest, set(job["orders"]))
        for oid in job["orders"]:
            if oid not in events:
                continue
            _, event = events[oid]
            state = OrderState(event.state)
            order = self._orders[oid]
            self.result.states[oid] = state
            if event.message:
                self.result.messages[oid] = event.message
            if order.kind == OrderKind.MANUAL_TASK and state == OrderState.TRANSMITTED:
                with self._store_lock:
                    task = self.store.task(task_id(self.plan.digest, oid))
                if task is not None:
                    self.result.tasks.append(task)
            self.progress(order, state, event.message)


def _keeps_secret(order: Order) -> bool:
    """Orders that write the vault run in this process, never on a worker: the vault is a
    file of the repository's checkout, and a worker's checkout is its own (a password
    kept there would be lost with the worker)."""
    return order.action in CREDENTIAL_ACTIONS or bool(order.change.details.get("generate_password"))


A = TypeVar("A", bound=Mapping[str, Any])
"""A job's arguments: ``JobArgs`` (apply's orders) or ``SyncArgs`` (a source to read)."""


def _orders(args: Mapping[str, Any]) -> str:
    return f"orders {', '.join(args['orders'])}"


class Dispatcher(Generic[A]):
    """A thread that queues jobs (the walk's, or a sync's), watches them end, and takes
    over those of dead workers. It alone uses the procrastinate app (in its own event
    loop). ``settle``: first clear what an earlier, dead apply left in the queue (apply's
    own queue only: see ``_settle``); ``describe``: a job, in a failure's message."""

    def __init__(
        self,
        app: procrastinate.App,
        queue: str,
        takeover_after: float,
        done: Callable[[A, str | None], None],
        task: str = TASK,
        describe: Callable[[A], str] = _orders,
        settle: bool = True,
    ):
        self.app = app
        self.queue = queue
        self.takeover_after = takeover_after
        self.done = done
        self.task = task
        self.describe = describe
        self.settle = settle
        self._inbox: Queue[tuple[A, str | None, Future[None]]] = Queue()
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        # whether a worker took one of the jobs yet, and since when none has, said when
        self._attended = False
        self._idle_since: float | None = None
        self._told_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="accesshive-dispatch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def submit(self, args: A, lock: str | None) -> Future[None]:
        future: Future[None] = Future()
        if self._failure is not None:
            future.set_exception(self._failure)
        else:
            self._inbox.put((args, lock, future))
        return future

    def _run(self) -> None:
        pending: dict[int, tuple[A, str | None, Future[None]]] = {}
        try:
            asyncio.run(self._main(pending))
        except BaseException as exc:  # the queue failed: every job waiting fails with it
            if not isinstance(exc, AccessHiveError):
                exc = StoreError(
                    f"the job queue in the store failed ({type(exc).__name__}: {exc}); what "
                    "the workers did is recorded: run apply again once the store is back"
                )
            self._failure = exc
            waiting = [f for *_, f in pending.values()]
            while not self._inbox.empty():
                waiting.append(self._inbox.get_nowait()[2])
            for future in waiting:
                if not future.done():
                    future.set_exception(exc)

    async def _main(self, pending: dict[int, tuple[A, str | None, Future[None]]]) -> None:
        async with self.app.open_async():
            if self.settle:
                await self._settle()
            looked = time.monotonic()
            while not self._stop.is_set():
                while not self._inbox.empty():
                    args, lock, future = self._inbox.get_nowait()
                    task = self.app.configure_task(self.task, queue=self.queue, lock=lock)
                    pending[await task.defer_async(**cast(dict[str, Any], args))] = (
                        args,
                        lock,
                        future,
                    )
                if pending:
                    await self._ended(pending)
                    self._tell_if_unattended()
                if time.monotonic() - looked >= min(1.0, self.takeover_after / 2):
                    await self._take_over()
                    looked = time.monotonic()
                await asyncio.sleep(POLL)
            await self._withdraw(pending)

    async def _withdraw(self, pending: dict[int, tuple[A, str | None, Future[None]]]) -> None:
        """Stopped with jobs not ended (apply interrupted: Ctrl-C, SIGTERM, a failure):
        the queued ones are cancelled, so that no worker runs them later with no apply
        to collect them; one a worker already runs ends there and is recorded by it. The
        next apply of the plan sends what is left."""
        for job_id in list(pending):
            await self.app.job_manager.cancel_job_by_id_async(job_id)

    async def _ended(self, pending: dict[int, tuple[A, str | None, Future[None]]]) -> None:
        rows = await self.app.connector.execute_query_all_async(
            "SELECT id, status::text AS status FROM procrastinate_jobs WHERE id = ANY(%(ids)s)",
            ids=list(pending),
        )
        if any(row["status"] != "todo" for row in rows):
            self._attended = True  # a worker took one of them
        for row in rows:
            status = row["status"]
            if status != "succeeded" and status not in ENDED:
                continue
            args, lock, future = pending.pop(row["id"])
            if status == "succeeded":
                try:
                    self.done(args, lock)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(None)
            else:
                future.set_exception(
                    WorkerJobFailed(
                        f"job {row['id']} ({self.describe(args)}) {status} on a "
                        "worker; the worker's log says why. What it did is recorded: run "
                        "apply again once it is fixed, and the rest is sent"
                    )
                )

    def _tell_if_unattended(self) -> None:
        """No worker has taken any of the jobs for ``takeover_after`` seconds: say so on
        stderr (again each minute), naming the queue, rather than wait without a word (a
        CI job would sit until its timeout): no worker runs, or none of this commit."""
        now = time.monotonic()
        if self._attended:
            return
        if self._idle_since is None:
            self._idle_since = now
        waited = now - self._idle_since
        if waited < self.takeover_after:
            return
        if self._told_at is not None and now - self._told_at < 60:
            return
        self._told_at = now
        print(
            f"no worker has taken a job of the queue {self.queue} for {waited:.0f} s: start "
            "one on a checkout of the plan's commit, pointed at this store (`accesshive "
            "worker -C DIR --store URL`); this apply goes on waiting",
            file=sys.stderr,
            flush=True,
        )

    async def _take_over(self) -> None:
        """Queue again the jobs of workers whose heartbeat stopped (killed, or cut off)."""
        stalled = await self.app.job_manager.get_stalled_jobs(
            queue=self.queue, seconds_since_heartbeat=self.takeover_after
        )
        for job in stalled:
            await self.app.job_manager.retry_job(job)

    async def _settle(self) -> None:
        """Before this run's first job: nothing of an earlier run (whose apply died) is
        left queued or running, so that no order runs twice at once. Queued jobs are
        cancelled (this run queues what is left again); running ones end (a worker
        skips a job of a run that is not the latest); dead workers' ones are taken over
        first, then end the same way."""
        manager = self.app.job_manager
        await manager.delete_old_jobs(  # the queue keeps a day of finished jobs
            nb_hours=24,
            queue=self.queue,
            include_failed=True,
            include_cancelled=True,
            include_aborted=True,
        )
        while True:
            await self._take_over()
            for job in await manager.list_jobs_async(queue=self.queue, status="todo"):
                assert job.id is not None
                await manager.cancel_job_by_id_async(job.id)
            if not list(await manager.list_jobs_async(queue=self.queue, status="doing")):
                return
            await asyncio.sleep(POLL)
