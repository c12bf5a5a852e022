"""Pruning the caches: entries no run has read lately go, entries in use stay, and a
plan after pruning is the same plan."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cache import store as cache
from accesshive.cli import main
from accesshive.operations import plan_repository
from accesshive.plan.planfile import dumps
from tests.conftest import EXAMPLES

DAY = 86400


def _age(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_prune_keeps_what_runs_read_and_removes_the_rest(cache_dir: Path) -> None:
    cache.put("aa" * 32, {"old": 1})
    cache.put("bb" * 32, {"used": 1})
    cache.put("cc" * 32, {"scoped": 1}, scope="repo")
    entries = {p.stem[:2]: p for p in cache_dir.rglob("*.pickle")}
    for entry in entries.values():
        _age(entry, 40)
    assert cache.get("bb" * 32) == {"used": 1}  # read now: in use again
    stale_format = cache_dir / "v0" / "dd" / f"{'dd' * 32}.pickle"
    stale_format.parent.mkdir(parents=True)
    stale_format.write_bytes(b"from an older accesshive")

    left = cache.prune(30)

    assert left is not None
    assert (left.removed, left.entries) == (3, 1)
    assert cache.get("bb" * 32) == {"used": 1}
    assert cache.is_miss(cache.get("aa" * 32))
    assert not (cache_dir / "v0").exists()
    assert not (cache_dir / f"v{cache.FORMAT}" / "scoped").exists()  # empty folders go


def test_a_plan_after_pruning_everything_is_the_same_plan(cache_dir: Path) -> None:
    today = dt.date(2026, 11, 29)
    before = dumps(plan_repository(EXAMPLES / "acme", today))
    assert cache.usage().entries > 0  # type: ignore[union-attr]
    cache.prune(0, now=time.time() + DAY)
    assert cache.usage().entries == 0  # type: ignore[union-attr]
    assert dumps(plan_repository(EXAMPLES / "acme", today)) == before


def test_cache_commands(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    cache.put("ee" * 32, {"x": 1})
    info = runner.invoke(main, ["cache", "info", "--format", "json"])
    assert info.exit_code == 0, info.output
    assert json.loads(info.stdout)["entries"] == 1
    kept = runner.invoke(main, ["cache", "prune"])
    assert kept.exit_code == 0 and "Removed 0 entries" in kept.stdout
    for entry in cache_dir.rglob("*.pickle"):
        _age(entry, 2)
    pruned = runner.invoke(main, ["cache", "prune", "--older-than", "1", "--format", "json"])
    assert (json.loads(pruned.stdout)["removed"], json.loads(pruned.stdout)["entries"]) == (1, 0)
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    off = runner.invoke(main, ["cache", "info"])
    assert "The caches are off" in off.stdout
