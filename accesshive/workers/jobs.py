"""One job's executor on a worker, and what a worker keeps from one job to the next.

Why: a job is a few dozen orders of a plan of thousands. Built like apply's executor,
each job read the whole plan's order states and results from the store, scanned every
order of the plan for the accounts it knows, and opened new connectors (a SCIM one
probes the service and looks its groups up again: round trips at the target's
latency, per job): per job, work in proportion to the plan, so a run cost the square of
its size, and a worker spent more time starting jobs than sending orders.

What is kept, and why it cannot be stale:

- ``PlanIndex``, by plan digest: the accounts the plan itself names and, per account
  (source and link), the plan's creates of it. A digest is the hash of the plan's
  content, so what is derived from the plan alone is the same for every job of it.
- The connectors, per run (``RunPools``): the jobs of one run on this worker share one
  ``ConnectorPool``, as the jobs of an in-process run share the executor's. What a
  connector learns (the target's capabilities, the ids of groups) lives as long as it
  does in process; a new run starts with new connectors.

What is read afresh for every job, from the store, because other workers change it:
the states of the job's orders (``JobStore.scoped``: the executor's view of prior
states is the job's orders', which are the only ones a job looks at: an order left
``transmitted`` by a dead worker is still looked for on the target before it is sent
again) and the results of the creates of the accounts its orders act on (a grant's
account, created by another job, maybe on another worker).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from accesshive.apply.accounts import own_account
from accesshive.apply.executor import Executor
from accesshive.apply.pool import ConnectorPool
from accesshive.config import Config
from accesshive.connectors.base import WriteLimits
from accesshive.plan.kinds import OrderKind
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.store.base import OrderEvent
from accesshive.store.postgres import PostgresStore

Key = tuple[str, str | None]
"""An account of the plan: its source and link (``Change.link``), as the executor keys it."""


@dataclass(frozen=True)
class PlanIndex:
    """What every job of a plan derives from the plan alone (see the module docstring)."""

    orders: Mapping[str, Order]
    """The plan's orders by id (``Plan.order`` looks through them all: per order of a job,
    that was work in proportion to the plan again)."""
    accounts: Mapping[Key, str]
    """The accounts the plan names (the executor's ``_known_accounts`` before results)."""
    creates: Mapping[Key, tuple[str, ...]]
    """Per account, the plan's orders creating it, in the plan's order."""

    @classmethod
    def of(cls, plan: Plan) -> PlanIndex:
        accounts: dict[Key, str] = {}
        creates: dict[Key, list[str]] = {}
        for o in plan.orders:
            c = o.change
            if account := own_account(o):
                accounts[(c.source, c.link)] = account
            if o.action == OrderKind.CREATE_ACCOUNT:
                creates.setdefault((c.source, c.link), []).append(o.id)
        by_id = {o.id: o for o in plan.orders}
        return cls(by_id, accounts, {k: tuple(v) for k, v in creates.items()})


class JobExecutor(Executor):
    """The executor of one job: the plan's known accounts from its ``PlanIndex`` and the
    results of the creates of the job's accounts only, the run's shared connectors."""

    def __init__(
        self,
        config: Config,
        plan: Plan,
        store: JobStore,
        run_id: int,
        *,
        index: PlanIndex,
        orders: list[Order],
        pool: ConnectorPool,
        **kwargs: Any,
    ) -> None:
        self._index = index
        self._job_orders = orders
        super().__init__(config, plan, store, run_id, **kwargs)
        self.pool = pool

    def _known_accounts(self) -> dict[Key, str]:
        """``Executor._known_accounts`` for the accounts this job's orders act on (by
        their link, and by identity for a credential); the plan's others as named."""
        known = dict(self._index.accounts)
        wanted: set[Key] = set()
        for o in self._job_orders:
            wanted |= {(o.change.source, o.change.link), (o.change.source, o.change.identity)}
        creates = {k: self._index.creates[k] for k in wanted if k in self._index.creates}
        ids = {oid for ids in creates.values() for oid in ids}
        results = self.store.results_of(self.plan.digest, ids) if ids else {}
        for key, ids_of in creates.items():
            for oid in ids_of:  # the plan's order: the last create with a result wins
                if oid in results:
                    known[key] = results[oid]
        return known


class JobStore(PostgresStore):
    """A worker thread's store: ``order_states`` of the plan of the job under way is the
    latest state of the job's own orders (read by the job just before), not the whole
    plan's (see the module docstring)."""

    def __init__(self, url: str, environment: str) -> None:
        super().__init__(url, environment)
        self._scope: tuple[str, dict[str, OrderEvent]] | None = None

    @contextmanager
    def scoped(self, plan_digest: str, prior: dict[str, OrderEvent]) -> Iterator[None]:
        self._scope = (plan_digest, prior)
        try:
            yield
        finally:
            self._scope = None

    def order_states(self, plan_digest: str) -> dict[str, OrderEvent]:
        if self._scope is not None and self._scope[0] == plan_digest:
            return dict(self._scope[1])
        return super().order_states(plan_digest)

    def newest_plan(self) -> str | None:
        """The digest of the environment's plan saved last (by ``plan`` or apply)."""
        rows = self._execute(
            "SELECT digest FROM plans WHERE environment = ? ORDER BY created_at DESC LIMIT 1",
            (self.environment,),
        )
        return str(rows[0][0]) if rows else None


class RunPools:
    """The connectors of this worker, one ``ConnectorPool`` per run, shared by the run's
    jobs; a run's pool is closed once a newer run has a job here and its own are over."""

    def __init__(self, write_limits: WriteLimits) -> None:
        self.write_limits = write_limits
        self._pools: dict[int, tuple[ConnectorPool, int]] = {}
        """run → (its pool, the jobs using it now)."""
        self._lock = threading.Lock()

    @contextmanager
    def pool(self, run: int, config: Config) -> Iterator[ConnectorPool]:
        with self._lock:
            pool, users = self._pools.get(run) or (ConnectorPool(config, self.write_limits), 0)
            self._pools[run] = (pool, users + 1)
            stale = self._unused(newer_than=run)
        for old in stale:
            old.close()
        try:
            yield pool
        finally:
            with self._lock:
                pool, users = self._pools[run]
                self._pools[run] = (pool, users - 1)
                stale = self._unused(newer_than=max(self._pools))
            for old in stale:
                old.close()

    def _unused(self, newer_than: int) -> list[ConnectorPool]:
        """The pools of runs older than ``newer_than`` that no job uses: removed."""
        old = [r for r, (_, users) in self._pools.items() if r < newer_than and users == 0]
        return [self._pools.pop(r)[0] for r in old]

    def close(self) -> None:
        with self._lock:
            pools = [pool for pool, _ in self._pools.values()]
            self._pools.clear()
        for pool in pools:
            pool.close()
