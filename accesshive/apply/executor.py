"""The executor: walks a plan's order graph and runs every order it may.

Each order's state is written to the store before and after every call to a
target (``pending → transmitted → executed → verified``), so a process killed
at any moment loses nothing: re-running continues, never repeats a verified
order, and first checks on the target an order that was left ``transmitted``.

- A gated order without approval is ``awaiting_approval``; what depends on it
  is held (``pending``), unrelated orders proceed.
- A failed order (``errored``: the target said no; ``error``: our own
  evaluation failed) makes everything below it ``blocked``, never attempted.
- A declined order (a reviewer said no) is ``declined`` before anything runs, with who
  declined it and why; everything below it is ``blocked`` with that reason.
- Orders of manual sources become tasks for the source owner (``transmitted``
  until a sync or the owner verifies them).
- Independent branches run concurrently, bounded overall and per source; the
  account orders of a source that are ready together run as a batch
  (``apply/lanes.py`` groups them, ``apply/batch.py`` runs one).

Every state written goes through ``_record_many``, into the store, which refuses a move
the transition table (``accesshive.plan.states``) does not hold: ``IllegalTransition`` is
a bug of this module, so no handler here records it as an order's failure; it stops the
run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TYPE_CHECKING

from accesshive.apply.accounts import known_accounts
from accesshive.apply.batch import Record, failure_of
from accesshive.apply.credentials import CredentialKeeper
from accesshive.apply.groups import GroupOrders
from accesshive.apply.lanes import Lanes
from accesshive.apply.outage import Breaker
from accesshive.apply.pool import ConnectorPool
from accesshive.apply.result import ApplyResult
from accesshive.apply.waiting import awaiting_approval, blocked, holder
from accesshive.config import Config
from accesshive.connectors.base import WriteLimits
from accesshive.errors import VaultError
from accesshive.plan.kinds import CREDENTIAL_ACTIONS, GROUP_ACTIONS, OrderKind
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.plan.states import DONE, FAILED, SENT, IllegalTransition, OrderState
from accesshive.redaction import redact_optional
from accesshive.store import Store
from accesshive.tasks import new_task, task_id

if TYPE_CHECKING:
    pass

__all__ = ["DONE", "FAILED", "ApplyResult", "Executor", "Progress"]
"""``DONE`` and ``FAILED`` are ``accesshive.plan.states``'s, here for the callers of apply."""

Progress = Callable[[Order, str, str | None], None]

Start = Callable[[str | None, list[Order]], Future[None]]
"""Starts one job of the walk (a lane and its orders) and returns its future."""


def _quiet(order: Order, state: str, message: str | None) -> None:
    return None


class Executor(GroupOrders):
    def __init__(
        self,
        config: Config,
        plan: Plan,
        store: Store,
        run_id: int,
        approved: Collection[str] = (),
        inactive: Collection[str] = (),
        accounts: Mapping[str, str] | None = None,
        approval_notes: Mapping[str, str] | None = None,
        progress: Progress = _quiet,
        max_workers: int = 8,
        unreachable: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        declined: Mapping[str, str] | None = None,
        write_limits: WriteLimits | None = None,
        only: Collection[str] | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        """``unreachable``: source → why none of its orders may be sent (it could not be
        read to check the plan is current); ``sleep``: the retries' wait (injectable so
        that tests count the waits instead of waiting); ``declined``: order id → who
        declined it and why (``declined by alice: reason``): not applied, what depends
        on it blocked; ``write_limits``: where the sources' write rate limits are kept
        when they must hold across processes (workers); None: in this process; ``only``:
        a targeted run (``apply --source``/``--identity``): the orders it may run; the
        others are left as they are, and an order of it whose dependency is not done
        (nor in it) is held, saying so; ``breaker``: where the sources' outages are
        counted when every worker must see them (``workers/outages.py``); None: here."""
        self.config = config
        self.plan = plan
        self.store = store
        self.run_id = run_id
        self.approved = frozenset(approved)
        self.inactive = frozenset(inactive)
        self.live_accounts = dict(accounts or {})
        self.approval_notes = dict(approval_notes or {})
        self.progress = progress
        self.max_workers = max_workers
        self.pool = ConnectorPool(config, write_limits)
        self.keeper = CredentialKeeper(config)
        self._store_lock = threading.Lock()
        self.unreachable = dict(unreachable or {})
        self.declined = dict(declined or {})
        self.only = None if only is None else frozenset(only)
        self.sleep = sleep
        self.breaker = breaker if breaker is not None else Breaker()
        self.result = ApplyResult(plan.digest, run_id, approved=self.approved)
        self.observed = self.result.observed
        self._prior = store.order_states(plan.digest)
        self._accounts = self._known_accounts()

    # ------------------------------------------------------------------ bookkeeping

    def _record(
        self,
        order: Order,
        state: OrderState,
        message: str | None = None,
        result: str | None = None,
    ) -> None:
        self._record_many([(order, state, message, result)])

    def _record_many(self, records: list[Record]) -> None:
        """Several orders' states in one commit: a batch's bookkeeping costs one write.

        The one place the executor writes states: the store checks each move against
        the transition table (``IllegalTransition``, and nothing of ``records`` written).
        Every message is redacted of the resolved secrets here, once, so that the store,
        the result and the progress shown all get the same text, whatever built it (a
        retry's note quotes the exception as it is)."""
        if not records:
            return
        records = [(o, s, redact_optional(m), r) for o, s, m, r in records]
        with self._store_lock:
            self.store.record_order_states(
                self.run_id,
                self.plan.digest,
                [(order.id, state, message, result) for order, state, message, result in records],
            )
            for order, state, message, _ in records:
                self.result.states[order.id] = state
                if message:
                    self.result.messages[order.id] = message
        for order, state, message, _ in records:
            self.progress(order, state, message)

    def _known_accounts(self) -> dict[tuple[str, str | None], str]:
        """The accounts the walk starts knowing (``apply/accounts.py``); a worker's job
        narrows it to its own orders' (``workers/jobs.py``: ``JobExecutor``)."""
        return known_accounts(self.plan, self.store.results(self.plan.digest))

    def _account_of(self, order: Order) -> str | None:
        c = order.change
        if c.account:
            return c.account
        return self._accounts.get((c.source, c.link)) or self.live_accounts.get(order.id)

    # ------------------------------------------------------------------ the walk

    def run(self) -> ApplyResult:
        """Walk the graph event by event: an order becomes ready when its last dependency is
        done, so the walk costs time in proportion to the orders and edges, not their square."""
        orders = {o.id: o for o in self.plan.orders}
        dependents: dict[str, list[str]] = {oid: [] for oid in orders}
        waiting: dict[str, int] = {}
        first: list[Record] = []
        for oid, order in orders.items():
            for dep in order.depends_on:
                dependents.setdefault(dep, []).append(oid)
            prior = self._prior.get(oid)
            if prior is not None and prior.state in DONE:
                self.result.states[oid] = OrderState(prior.state)
                continue
            if self.only is not None and oid not in self.only:
                continue  # not this targeted run's: left as it is, never released
            if prior is None:
                first.append((order, OrderState.PENDING, None, None))
            waiting[oid] = -1  # counted below, once every prior state is known
        self._record_many(first)  # every order's first "pending", in one commit
        for oid in waiting:
            waiting[oid] = sum(1 for d in orders[oid].depends_on if self._state(d) not in DONE)
        try:
            self._walk(orders, dependents, waiting)
        finally:
            self.pool.close()
            self.keeper.close()
            self.result.unreachable = {**self.breaker.down_sources(), **self.unreachable}
        held: list[Record] = [
            (
                orders[oid],
                OrderState.PENDING,
                f"held: waits for {holder(orders[oid], self.approved, self.only, self._state)}",
                None,
            )
            for oid in sorted(waiting)
            if self._state(oid) not in (OrderState.AWAITING_APPROVAL, OrderState.BLOCKED)
        ]
        self._record_many(held)  # the walk is over: one commit for what is held
        self.result.acted_on = {oid: self._account_of(orders[oid]) for oid in self.result.states}
        if self.only is not None:  # a targeted run reports only its own orders
            for oid in set(self.result.states) - self.only:
                del self.result.states[oid]
        return self.result

    def _walk(
        self, orders: dict[str, Order], dependents: dict[str, list[str]], waiting: dict[str, int]
    ) -> None:
        ready: list[str] = []
        gated: list[Record] = []
        declined: list[Record] = []
        for oid in sorted(waiting):
            order = orders[oid]
            if oid in self.declined:
                declined.append((order, OrderState.DECLINED, self.declined[oid], None))
            elif order.gate and oid not in self.approved:
                gated.append(awaiting_approval(order, self.approval_notes))
            elif waiting[oid] == 0:
                ready.append(oid)
        for order, *_ in declined:
            del waiting[order.id]
        # no thread runs yet: one commit for the declined and the gated, then what is
        # below a declined order is blocked, naming it and why
        self._record_many(declined + gated)
        for order, *_ in declined:
            self._block_below(order.id, orders, dependents, waiting)
        ready = [oid for oid in ready if oid in waiting]
        lanes = Lanes(self.config, orders, self.inactive)
        lanes.add(ready)
        running: dict[Future[None], tuple[str | None, list[str]]] = {}
        with self._jobs() as start:
            while lanes or running:
                # never more in flight than threads: waiting on thousands of futures at
                # every step would make the walk quadratic
                while len(running) < self.max_workers:
                    lane, batch = lanes.take()
                    if not batch:
                        break
                    for oid in batch:
                        del waiting[oid]
                    running[start(lane, [orders[oid] for oid in batch])] = (lane, batch)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    lane, batch = running.pop(future)
                    future.result()  # a bug in the executor itself must surface
                    lanes.finished(lane)
                    for oid in batch:
                        lanes.add(self._finished(oid, orders, dependents, waiting))

    @contextmanager
    def _jobs(self) -> Iterator[Start]:
        """Where the walk's jobs run: threads of this process. ``apply --workers`` runs
        them on ``accesshive worker`` processes instead (``workers/dispatch.py``)."""
        with ThreadPoolExecutor(max_workers=self.max_workers) as threads:
            yield lambda lane, batch: threads.submit(self.execute, lane, batch)

    def execute(self, lane: str | None, batch: list[Order]) -> None:
        """One job of the walk: a batch of one source's account orders (``lane`` is the
        source), or one order alone (``lane`` None: a manual task, a credential, an
        inactive order). What a worker process runs for a job, too."""
        if lane is not None:
            self._batch(batch)
        else:
            self._one(batch[0])

    def _finished(
        self,
        oid: str,
        orders: dict[str, Order],
        dependents: dict[str, list[str]],
        waiting: dict[str, int],
    ) -> list[str]:
        """What an order's outcome releases (ready orders) or blocks (its descendants)."""
        state = self._state(oid)
        ready = []
        if state in DONE:
            for child in dependents.get(oid, ()):
                if child not in waiting:
                    continue
                waiting[child] -= 1
                gated = orders[child].gate and child not in self.approved
                if waiting[child] == 0 and not gated:
                    ready.append(child)
        elif state in FAILED:
            self._block_below(oid, orders, dependents, waiting)
        return sorted(ready)

    def _block_below(
        self,
        failed: str,
        orders: dict[str, Order],
        dependents: dict[str, list[str]],
        waiting: dict[str, int],
    ) -> None:
        stack = [(failed, child) for child in dependents.get(failed, ())]
        stopped: list[Record] = []
        root = self._state(failed)
        why = (
            f"{failed} was {self.declined.get(failed, 'declined')}"
            if root == OrderState.DECLINED
            else None
        )
        while stack:
            cause, oid = stack.pop()
            if oid not in waiting:
                continue  # done, running, or blocked already
            del waiting[oid]
            if why is not None:  # below a declined order: say who declined it and why
                message = (
                    f"dependency {why}"
                    if cause == failed
                    else (f"dependency {cause} is blocked: {why}")
                )
            else:
                state = root if cause == failed else OrderState.BLOCKED
                message = f"dependency {cause} is {state}"
            message = blocked(orders[oid], message, self.approved, self.approval_notes)
            stopped.append((orders[oid], OrderState.BLOCKED, message, None))
            stack.extend((oid, child) for child in dependents.get(oid, ()))
        self._record_many(stopped)  # everything below a failure, in one commit

    def _state(self, oid: str) -> OrderState | None:
        """The state this run gave the order (or the final one an earlier run did)."""
        return self.result.states.get(oid)

    def _current(self, oid: str) -> str | None:
        """The order's latest recorded state, by this run or an earlier one."""
        prior = self._prior.get(oid)
        return self._state(oid) or (prior.state if prior else None)

    # ------------------------------------------------------------------ one order

    def _one(self, order: Order) -> None:
        try:
            self._perform(order)
        except IllegalTransition:
            raise  # a bug of the executor, not the order's failure
        except Exception as exc:  # the target failed (errored) or we did (error): keep going
            self._record(order, *failure_of(exc))

    def _perform(self, order: Order) -> None:
        if order.id in self.inactive:
            self._record(order, OrderState.INACTIVE, "no longer needed: the target already matches")
        elif order.kind == OrderKind.MANUAL_TASK:
            self._manual(order)
        elif order.action in CREDENTIAL_ACTIONS:
            self._credential(order)
        elif order.action in GROUP_ACTIONS:
            self._group(order)
        else:
            self._batch([order])

    def _credential(self, order: Order) -> None:
        self._record(order, OrderState.TRANSMITTED)
        try:
            message = self.keeper.store(
                order,
                lambda source, identity: (
                    self._accounts.get((source, identity)) or self.live_accounts.get(order.id)
                ),
                self.pool.connector,
            )
        except VaultError as exc:
            self._record(order, OrderState.ERRORED, str(exc))
            return
        self._record(order, OrderState.EXECUTED, message)
        self._record(order, OrderState.VERIFIED, message)

    def _manual(self, order: Order) -> None:
        tid = task_id(self.plan.digest, order.id)
        with self._store_lock:
            existing = self.store.task(tid)
        if existing is not None and existing.state == "verified":
            done = f"task {tid} done by {existing.done_by}"
            if self._current(order.id) not in SENT:
                # the task exists, so it was handed over, even if a killed run did not get
                # to record it (or a lost approval held it since): a task is verified
                # only once it has been transmitted
                self._record(order, OrderState.TRANSMITTED, f"task {tid} for {existing.assignee}")
            self._record(order, OrderState.VERIFIED, done)
            return
        task = new_task(self.plan.digest, order)
        with self._store_lock:
            self.store.save_task(task)
            self.result.tasks.append(task)
        self._record(order, OrderState.TRANSMITTED, f"task {tid} for {task.assignee}")
