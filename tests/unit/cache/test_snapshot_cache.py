"""The snapshot cache: a snapshot file read again is not validated again, gives the same
snapshot and the same plan, byte for byte; an entry that was tampered with or cut short
is ignored, and a changed file is validated afresh."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from accesshive.cache import snapshot as snapshot_cache
from accesshive.cache import store
from accesshive.errors import SnapshotError
from accesshive.operations import plan_repository
from accesshive.plan.planfile import dumps
from accesshive.state.snapshot import Snapshot, load_snapshot
from tests.conftest import EXAMPLES, FIXTURES

TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def drifted(tmp_path: Path) -> Path:
    """The quickstart's drifted snapshot as a JSON file, as sync writes snapshots."""
    snap = load_snapshot(FIXTURES / "snapshots" / "quickstart-drifted.yaml")
    path = tmp_path / "drifted.json"
    path.write_text(snap.model_dump_json(exclude_unset=True), encoding="utf-8")
    return path


def _no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("validated again although the file's entry was kept")

    monkeypatch.setattr(Snapshot, "model_validate_json", refuse)


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("v*/**/*.json"))


def test_a_file_read_again_is_not_validated_again_and_reads_the_same(
    cache: Path, drifted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, content = snapshot_cache.read(drifted)
    assert len(_entries(cache)) == 1
    _no_validation(monkeypatch)
    again, same = snapshot_cache.read(drifted)
    assert same == content
    assert again == first
    assert again.fingerprints() == first.fingerprints()
    for sid, source in first.sources.items():
        assert again.sources[sid].model_fields_set == source.model_fields_set
        assert [a.grants for a in again.sources[sid].accounts] == [
            a.grants for a in source.accounts
        ]


def test_plans_are_byte_identical_with_and_without_the_cache(
    cache: Path, drifted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    without = dumps(plan_repository(EXAMPLES / "quickstart", TODAY, drifted))
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(cache))
    cold = dumps(plan_repository(EXAMPLES / "quickstart", TODAY, drifted))
    _no_validation(monkeypatch)
    warm = dumps(plan_repository(EXAMPLES / "quickstart", TODAY, drifted))
    assert cold == without
    assert warm == without
    assert json.loads(warm)["orders"]  # the drifted snapshot makes a plan with orders


def test_a_changed_file_is_validated_afresh(cache: Path, drifted: Path) -> None:
    before, _ = snapshot_cache.read(drifted)
    data = json.loads(drifted.read_text(encoding="utf-8"))
    data["sources"]["wiki"]["accounts"] = []
    drifted.write_text(json.dumps(data), encoding="utf-8")
    after, _ = snapshot_cache.read(drifted)
    assert after.sources["wiki"].accounts == []
    assert before.sources["wiki"].accounts
    assert len(_entries(cache)) == 2


def test_a_malformed_file_is_refused_every_time(cache: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"sources": {"app": {"accounts": [{"enabled": true}]}}}', encoding="utf-8")
    for _ in range(2):
        with pytest.raises(SnapshotError, match="malformed"):
            snapshot_cache.read(bad)
    assert _entries(cache) == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda text: text[: len(text) // 2],  # cut short
        lambda text: text.replace('"format":1', '"format":99'),
        # a row with a grant that is no text
        lambda text: text.replace('},["', '},[7,"', 1),
        # a row of the wrong shape
        lambda text: text.replace('"accounts":[[', '"accounts":[[1,', 1),
        lambda text: "[]",
    ],
)
def test_a_tampered_entry_is_ignored(
    cache: Path, drifted: Path, tamper: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    truth, _ = snapshot_cache.read(drifted)
    (entry,) = _entries(cache)
    text = entry.read_text(encoding="utf-8")
    changed = tamper(text)  # type: ignore[operator]
    assert changed != text
    entry.write_text(changed, encoding="utf-8")
    validated = []
    real = Snapshot.model_validate_json

    def counted(raw: bytes) -> Snapshot:
        validated.append(1)
        return real(raw)

    monkeypatch.setattr(Snapshot, "model_validate_json", counted)
    again, _ = snapshot_cache.read(drifted)
    assert validated == [1]  # the entry was not used: the file was validated
    assert again == truth


def test_values_json_would_change_are_not_kept(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    path.write_text(
        '{"sources": {"app": {"accounts": [{"external_id": "1", "attributes": {"x": NaN}}]}}}',
        encoding="utf-8",
    )
    snap, _ = snapshot_cache.read(path)
    assert snap.sources["app"].accounts[0].attributes["x"] != 0  # NaN, not null
    assert _entries(cache) == []


def test_a_yaml_snapshot_is_not_kept_as_json(cache: Path) -> None:
    yaml_file = FIXTURES / "snapshots" / "quickstart-drifted.yaml"
    snap, _ = snapshot_cache.read(yaml_file)
    assert snap == load_snapshot(yaml_file)
    assert _entries(cache) == []


def test_usage_and_prune_count_json_entries(cache: Path, drifted: Path) -> None:
    snapshot_cache.read(drifted)
    usage = store.usage()
    assert usage is not None and usage.entries >= 1
    pruned = store.prune(0, now=10**12)
    assert pruned is not None and pruned.entries == 0 and pruned.removed >= 1
    assert _entries(cache) == []
