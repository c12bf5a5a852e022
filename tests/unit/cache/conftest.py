"""The cache tests' own cache directory: each test starts with an empty one."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(where))
    return where
