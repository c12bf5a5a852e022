"""What the executor's unit tests share: a plan made from a configuration on the in-memory
connector (its store fresh), and one run of the executor over it.

A test's setup is ``(root, plan, store)``: the repository the configuration was written
to, the plan made from it, and the repository's open store the run records in.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from accesshive.apply.executor import ApplyResult, Executor
from accesshive.config import load_config
from accesshive.expand.desired import expand
from accesshive.plan.build import make_plan
from accesshive.plan.model import Plan
from accesshive.state.snapshot import Snapshot
from accesshive.store import Store
from tests.support.memory_connector import MemoryConnector

Setup = tuple[Path, Plan, Store]

_numbers = itertools.count()


def fresh_store_name(prefix: str, *suffixes: str) -> str:
    """A memory store name (``prefix-N``) no test of this process has used, emptied: the
    store itself, or with ``suffixes`` each ``prefix-N-suffix`` (one a source)."""
    name = f"{prefix}-{next(_numbers)}"
    for key in [f"{name}-{suffix}" for suffix in suffixes] or [name]:
        MemoryConnector.stores.pop(key, None)
    return name


def plan_for(
    root: Path, config_text: str, today: dt.date, snapshot: Snapshot | None = None
) -> Plan:
    """``config_text`` written as ``root``'s ``accesshive.yaml``, loaded, expanded for
    ``today`` and planned against ``snapshot`` (nothing on the targets when None)."""
    (root / "accesshive.yaml").write_text(config_text)
    config = load_config(root)
    desired, _ = expand(config, today)
    return make_plan(config, desired, snapshot if snapshot is not None else Snapshot(), today)


def memory_accounts(root: Path, source: str) -> dict[str, dict[str, Any]]:
    """The accounts (by external id) the memory connector holds for ``source`` of the
    configuration at ``root``: what the target has, to assert on or to change behind
    apply's back."""
    return MemoryConnector.stores[str(load_config(root).sources[source].connection["store"])]


def run_executor(setup: Setup, **kwargs: object) -> ApplyResult:
    """One run of the executor over the setup's plan, recorded in its store as run by
    ``test``; ``kwargs`` go to the ``Executor`` (``inactive``, ``accounts``...)."""
    root, plan, store = setup
    run = store.start_run(plan.digest, "test")
    return Executor(load_config(root), plan, store, run, **kwargs).run()  # type: ignore[arg-type]
