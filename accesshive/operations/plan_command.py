"""``plan_command``: ``plan_repository`` as the ``plan`` command runs it, through the plan
cache (``cache/plans.py``).

Why a module of its own, importing the planner only when it plans: a plan read from the
cache needs neither the loader's models nor the graph library, whose imports were a
third of such a plan at 100,000 identities. Only ``plan`` reads that cache: apply, the
console and report plan again through ``plan_repository``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from accesshive.cache import plans

if TYPE_CHECKING:
    from accesshive.operations._common import Steps
    from accesshive.plan.model import Plan


def plan_command(
    root: Path,
    today: dt.date,
    snapshot_file: Path | None,
    allow_mass_changes: bool,
    environment: str | None,
    store_url: str | None,
    author: str | None,
    steps: Steps | None = None,
) -> tuple[Plan, bool]:
    """The plan, and whether it was read from the plan cache (then the repository has
    no store: nothing is to be recorded).

    Read from the cache when exactly these inputs were planned before without a store
    and there is still none; else planned (``plan_repository``) and, without a store,
    kept. Which store: ``environment`` and ``store_url`` as ``StoreRef`` takes them."""
    key = None
    if plans.enabled() and not plans.store_may_exist(root, store_url):
        key = plans.key(root, today, snapshot_file, environment, allow_mass_changes, author)
        kept = plans.recall(key) if key is not None else None
        if kept is not None:
            return kept, True
    from accesshive.operations._common import StoreRef, no_steps
    from accesshive.operations.planning import plan_repository

    store = StoreRef(environment, store_url)
    made = plan_repository(
        root, today, snapshot_file, allow_mass_changes, store, author, steps=steps or no_steps
    )
    if key is not None and not store.exists(root):
        plans.remember(key, made)
    return made, False
