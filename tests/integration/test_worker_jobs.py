"""What a worker keeps between jobs (``workers/jobs.py``) never makes a job act on stale
knowledge: jobs run one after another on two workers (two runtimes, each with its own
store connections and connectors) against the real PostgreSQL store, through
``run_job``, the code a worker runs for a job.

- a grant run on worker B acts on the account that worker A's create job recorded (B
  reads the results of its accounts' creates, not a copy kept from an earlier job);
- a grant a dead worker left ``transmitted`` after sending it is found done on the
  target by the job that takes it over, not sent again (the job's own orders' states
  are read when it starts);
- a worker's jobs of one run share their connectors; a new run gets new ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from accesshive.apply.steps import send
from accesshive.config import Config, load_config
from accesshive.connectors.registry import connector_for
from accesshive.errors import PlanFileError
from accesshive.operations import StoreRef
from accesshive.plan.kinds import OrderKind
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.plan.planfile import dumps
from accesshive.plan.states import OrderState
from accesshive.workers.engine import JobArgs, ensure_schema
from accesshive.workers.jobs import JobStore, RunPools
from accesshive.workers.outages import SharedOutages
from accesshive.workers.ratelimit import SharedWriteLimits
from accesshive.workers.worker import WorkerRuntime, preload_newest, run_job
from tests.support import postgres
from tests.support.executor import fresh_store_name, plan_for
from tests.support.memory_connector import MemoryConnector

pytestmark = pytest.mark.skipif(not postgres.available(), reason="PostgreSQL not installed")

TODAY = dt.date(2026, 11, 29)

CONFIG = """version: 1
name: jobs
sources:
  app:
    kind: sql
    concurrency: 2
    connection: {{connector: memory, store: {store}}}
    account:
      name_attribute: login
      create: {{login: "{{{{ id }}}}"}}
      correlation: [login]
    entitlements:
      staff: {{}}
access_profiles:
  base: {{source: app, entitlements: [staff]}}
identities:
  ada: {{type: human, access_profiles: [base]}}
  bob: {{type: human, access_profiles: [base]}}
"""


class Worker:
    """One worker's runtime (its own store connections, connectors, caches) and what it
    reported."""

    def __init__(self, root: Path, url: str) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        self.runtime = WorkerRuntime(
            root,
            StoreRef(None, url),
            lambda order, state, message: self.seen.append((order.id, state, message)),
            url,
            SharedWriteLimits(url, "accesshive.default"),
            SharedOutages(url, "accesshive.default"),
            RunPools(SharedWriteLimits(url, "accesshive.default")),
        )

    def run(self, plan: Plan, run: int, orders: list[Order]) -> None:
        job = JobArgs(
            plan=plan.digest,
            run=run,
            lane="app",
            orders=[o.id for o in orders],
            inactive=[],
            accounts={},
            unreachable=None,
        )
        run_job(self.runtime, job)

    def close(self) -> None:
        self.runtime.pools.close()
        self.runtime.outages.close()
        self.runtime.opened().close()


@pytest.fixture
def setup(tmp_path: Path, postgres_db: str) -> Iterator[tuple[Config, Plan, str, str]]:
    name = fresh_store_name("jobs")
    plan = plan_for(tmp_path, CONFIG.format(store=name), TODAY)
    config = load_config(tmp_path)
    ensure_schema(postgres_db)
    store = JobStore(postgres_db, "default")
    store.migrate()
    store.save_plan(plan.digest, plan.config_digest, dumps(plan))
    store.close()
    yield config, plan, postgres_db, name
    MemoryConnector.stores.pop(name, None)


def _start(url: str, plan: Plan) -> int:
    """A run of the plan, every order ``pending``, as apply records it before queuing."""
    store = JobStore(url, "default")
    try:
        run = store.start_run(plan.digest, "test")
        store.record_order_states(
            run, plan.digest, [(o.id, OrderState.PENDING, None, None) for o in plan.orders]
        )
        return run
    finally:
        store.close()


def _states(url: str, plan: Plan) -> dict[str, tuple[str, str | None]]:
    store = JobStore(url, "default")
    try:
        return {oid: (e.state, e.message) for oid, e in store.order_states(plan.digest).items()}
    finally:
        store.close()


def _of(plan: Plan, action: str) -> dict[str | None, Order]:
    return {o.change.identity: o for o in plan.orders if o.action == action}


def test_a_grant_on_another_worker_acts_on_the_account_a_create_job_recorded(
    setup: tuple[Config, Plan, str, str], tmp_path: Path
) -> None:
    _, plan, url, name = setup
    creates, grants = _of(plan, OrderKind.CREATE_ACCOUNT), _of(plan, OrderKind.GRANT)
    a, b = Worker(tmp_path, url), Worker(tmp_path, url)
    try:
        run = _start(url, plan)
        a.run(plan, run, [creates["ada"], creates["bob"]])
        b.run(plan, run, [grants["ada"], grants["bob"]])
    finally:
        a.close()
        b.close()
    states = _states(url, plan)
    assert {oid: s for oid, (s, _) in states.items()} == {o.id: "verified" for o in plan.orders}
    accounts = MemoryConnector.stores[name]
    assert sorted(acc["attributes"]["login"] for acc in accounts.values()) == ["ada", "bob"]
    assert all("staff" in acc.get("grants", []) for acc in accounts.values()), accounts


def test_a_grant_a_dead_worker_left_transmitted_is_found_done_not_sent_again(
    setup: tuple[Config, Plan, str, str], tmp_path: Path
) -> None:
    config, plan, url, name = setup
    creates, grants = _of(plan, OrderKind.CREATE_ACCOUNT), _of(plan, OrderKind.GRANT)
    a, b = Worker(tmp_path, url), Worker(tmp_path, url)
    try:
        run = _start(url, plan)
        a.run(plan, run, [creates["ada"], creates["bob"]])
        # worker A takes the grants: marks them transmitted, sends ada's, and dies
        store = a.runtime.opened()
        store.record_order_states(
            run, plan.digest, [(grants[p].id, OrderState.TRANSMITTED, None, None) for p in grants]
        )
        ada = next(
            k
            for k, acc in MemoryConnector.stores[name].items()
            if acc["attributes"]["login"] == "ada"
        )
        conn = connector_for(config, "app")
        send(conn, grants["ada"], ada)
        conn.close()
        # the job is taken over by worker B, which has run nothing of this plan yet
        b.run(plan, run, [grants["ada"], grants["bob"]])
    finally:
        a.close()
        b.close()
    states = _states(url, plan)
    assert states[grants["ada"].id] == ("verified", "found done on the target after a restart")
    assert states[grants["bob"].id] == ("verified", None)
    assert [s for oid, s, _ in b.seen if oid == grants["ada"].id] == ["verified"]


def test_a_workers_jobs_of_one_run_share_connectors_and_a_new_run_gets_new_ones(
    setup: tuple[Config, Plan, str, str],
) -> None:
    config, *_ = setup
    pools = RunPools(SharedWriteLimits("postgresql://unused/db", "accesshive.test"))
    try:
        with pools.pool(1, config) as first, pools.pool(1, config) as again:
            assert again is first  # two jobs of run 1 at once: one pool
            with first.connector("app") as conn:
                pass
        with pools.pool(1, config) as later:
            assert later is first  # a later job of run 1: the same connectors
            with later.connector("app") as reused:
                assert reused is conn
        with pools.pool(2, config) as newer:
            assert newer is not first
            with newer.connector("app") as fresh:
                assert fresh is not conn
    finally:
        pools.close()


def test_an_idle_worker_reads_the_newest_plan_ahead_and_its_jobs_use_it(
    setup: tuple[Config, Plan, str, str], tmp_path: Path
) -> None:
    """The plan ``plan`` saved is read (and checked against its digest) by an idle worker
    before any job of it; a job then uses that reading (the store's copy is not read
    again), and a plan forged in the store is refused once and its job still fails."""
    _, plan, url, _ = setup
    worker = Worker(tmp_path, url)
    store = JobStore(url, "default")
    refused: set[str] = set()
    try:
        assert preload_newest(worker.runtime, store, refused) == plan.digest
        assert preload_newest(worker.runtime, store, refused) is None  # read once
        read = worker.runtime.plan(store, plan.digest)
        run = _start(url, plan)
        store._execute("UPDATE plans SET content = '{}' WHERE digest = ?", (plan.digest,))
        worker.run(plan, run, [o for o in plan.orders if o.action == OrderKind.CREATE_ACCOUNT])
        assert worker.runtime.plan(store, plan.digest) is read  # the reading kept
        assert {s for _, s, _ in worker.seen} >= {"verified"}
        forged = "f" * 64
        store.save_plan(forged, plan.config_digest, dumps(plan))  # content of another digest
        store._execute("UPDATE plans SET created_at = '9999' WHERE digest = ?", (forged,))
        assert preload_newest(worker.runtime, store, refused) is None
        assert refused == {forged}
        with pytest.raises(PlanFileError, match="modified after it was written"):
            worker.runtime.plan(store, forged)
    finally:
        store.close()
        worker.close()
