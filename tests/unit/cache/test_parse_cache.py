"""The parse cache: a second load reuses parses by content hash, and never trusts code."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from accesshive.cache import store as cache
from accesshive.config import yamlio
from accesshive.pipeline import load_config
from tests.conftest import EXAMPLES


def test_second_load_reuses_parses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(tmp_path))
    first = load_config(EXAMPLES / "acme")

    def no_parsing(*_: object) -> None:
        raise AssertionError("parsed although the content was cached")

    monkeypatch.setattr(yamlio, "parse_bytes", no_parsing)  # the stage the cache wraps
    second = load_config(EXAMPLES / "acme")
    assert second.digest == first.digest
    assert second.identities == first.identities


def test_entries_with_code_are_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(tmp_path))
    digest = "ab" * 32
    cache.put(digest, {"ok": 1})
    assert cache.get(digest) == {"ok": 1}
    entry = tmp_path / f"v{cache.FORMAT}" / "ab" / f"{digest}.pickle"
    entry.write_bytes(pickle.dumps(Path("/etc/passwd")))  # a class outside plain data
    assert cache.is_miss(cache.get(digest))


def test_cache_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    cache.put("cd" * 32, {"x": 1})
    assert cache.is_miss(cache.get("cd" * 32))
