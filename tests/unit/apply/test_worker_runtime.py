"""A worker runs a job only for the configuration the plan was made from, and only the
orders that its run has not finished (the rest of ``run_job`` needs a store and a
target: ``tests/integration/test_workers.py``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from accesshive.config import load_config
from accesshive.errors import StalePlanError
from accesshive.operations import StoreRef
from accesshive.workers.jobs import RunPools
from accesshive.workers.outages import SharedOutages
from accesshive.workers.ratelimit import SharedWriteLimits
from accesshive.workers.worker import WorkerRuntime
from tests.conftest import EXAMPLES


def _runtime(root: Path) -> WorkerRuntime:
    url = "postgresql://unused/db"
    limits = SharedWriteLimits(url, "accesshive.test")  # connects only on a write
    outages = SharedOutages(url, "accesshive.test")  # connects only on a look or a count
    pools = RunPools(limits)
    return WorkerRuntime(root, StoreRef(), lambda o, s, m: None, url, limits, outages, pools)


def test_a_worker_on_another_commit_refuses_the_job_naming_both_configs(tmp_path: Path) -> None:
    root = tmp_path / "org"
    shutil.copytree(EXAMPLES / "quickstart", root, ignore=shutil.ignore_patterns(".accesshive"))
    planned_for = load_config(root, None).digest
    (root / "access.yaml").write_text(
        (root / "access.yaml").read_text().replace("Everyone on staff.", "All staff.")
    )
    now = load_config(root, None).digest
    with pytest.raises(StalePlanError) as refused:
        _runtime(root).config_for(planned_for)
    message = str(refused.value)
    assert planned_for[:12] in message and now[:12] in message and str(root) in message
    assert "check out the commit the plan was made from" in message


def test_a_worker_at_the_plans_commit_loads_its_configuration_once(tmp_path: Path) -> None:
    root = tmp_path / "org"
    shutil.copytree(EXAMPLES / "quickstart", root, ignore=shutil.ignore_patterns(".accesshive"))
    digest = load_config(root, None).digest
    runtime = _runtime(root)
    first = runtime.config_for(digest)
    assert first.digest == digest
    assert runtime.config_for(digest) is first
