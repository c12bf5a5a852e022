"""The plan cache: ``accesshive plan`` on exactly the inputs it planned before prints and
writes the same plan, byte for byte, without planning again; any change to an input it
depends on plans again; a repository with a store never uses it; a tampered entry is
ignored."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import accesshive.operations.planning as planning
from accesshive.cache import plans
from accesshive.cli import main
from accesshive.operations import StoreRef
from tests.conftest import FIXTURES

DRIFTED = FIXTURES / "snapshots" / "quickstart-drifted.yaml"


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the plans made (not read from the cache)."""
    calls: list[int] = []
    real = planning.plan_repository

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(planning, "plan_repository", counting)
    return calls


def _plan(repo: Path, *extra: str, snapshot: Path = DRIFTED) -> tuple[str, str]:
    out = repo.parent / "plan.json"
    result = CliRunner().invoke(
        main,
        [
            "plan",
            str(repo),
            "--snapshot",
            str(snapshot),
            "--today",
            "2026-11-29",
            "--out",
            str(out),
            "--format",
            "json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return result.output, out.read_text(encoding="utf-8")


def test_the_same_inputs_give_the_same_plan_without_planning_again(
    cache: Path, quickstart: Path, planned: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", "off")
    without = _plan(quickstart)
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(cache))
    first = _plan(quickstart)
    again = _plan(quickstart)
    assert planned == [1, 1]  # without the cache, then the first with it
    assert first == without
    assert again == without
    assert json.loads(again[1])["orders"]


def _edit_identity(repo: Path) -> None:
    path = repo / "identities" / "people.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")


def _new_file(repo: Path) -> None:
    (repo / "identities" / "more.yaml").write_text("identities: {}\n", encoding="utf-8")


def _new_folder(repo: Path) -> None:
    (repo / "identities" / "empty").mkdir()


CHANGES: dict[str, Callable[[Path], None]] = {
    "an identity file": _edit_identity,
    "a new file": _new_file,
    "a new folder": _new_folder,
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_repository_is_planned_again(
    cache: Path, quickstart: Path, planned: list[int], change: str
) -> None:
    _plan(quickstart)
    CHANGES[change](quickstart)
    _plan(quickstart)
    assert planned == [1, 1]


@pytest.mark.parametrize(
    "extra",
    [("--author", "someone"), ("--allow-mass-changes",), ("--env", "production")],
)
def test_other_options_are_planned_again(
    cache: Path, quickstart: Path, planned: list[int], extra: tuple[str, ...]
) -> None:
    project = quickstart / "accesshive.yaml"
    project.write_text(
        project.read_text(encoding="utf-8") + "\nenvironments:\n  default: {}\n  production: {}\n",
        encoding="utf-8",
    )
    _plan(quickstart)
    _plan(quickstart, *extra)
    _plan(quickstart, *extra)
    assert planned == [1, 1]


def test_another_snapshot_or_day_is_planned_again(
    cache: Path, quickstart: Path, planned: list[int], tmp_path: Path
) -> None:
    _, first = _plan(quickstart)
    other = tmp_path / "snapshot.yaml"
    other.write_bytes((FIXTURES / "snapshots" / "quickstart-converged.yaml").read_bytes())
    _, converged = _plan(quickstart, snapshot=other)
    assert planned == [1, 1]
    assert converged != first
    # the same path, other bytes: the first snapshot's, so the first plan (the key is
    # the content, not the name)
    other.write_bytes(DRIFTED.read_bytes())
    _, drifted = _plan(quickstart, snapshot=other)
    assert planned == [1, 1]
    assert drifted == first
    result = CliRunner().invoke(
        main, ["plan", str(quickstart), "--snapshot", str(DRIFTED), "--today", "2026-12-25"]
    )
    assert result.exit_code == 0, result.output
    assert planned == [1, 1, 1]


def test_a_linked_folder_is_read_through(cache: Path, quickstart: Path, planned: list[int]) -> None:
    """The loader reads a folder linked inside the repository, even one whose real place
    is under a hidden name (which the key otherwise leaves out)."""
    hidden = quickstart / ".kept"
    hidden.mkdir()
    (hidden / "more.yaml").write_text("identities: {}\n", encoding="utf-8")
    os.symlink("../.kept", quickstart / "identities" / "linked")
    _plan(quickstart)
    (hidden / "more.yaml").write_text("identities: {}\n# changed\n", encoding="utf-8")
    _plan(quickstart)
    assert planned == [1, 1]


def test_a_repository_with_a_store_is_always_planned(
    cache: Path, synced_quickstart: Path, planned: list[int]
) -> None:
    for _ in range(2):
        result = CliRunner().invoke(
            main, ["plan", str(synced_quickstart), "--today", "2026-11-29", "--format", "json"]
        )
        assert result.exit_code == 0, result.output
    assert planned == [1, 1]


def test_a_tampered_entry_is_ignored(cache: Path, quickstart: Path, planned: list[int]) -> None:
    truth = _plan(quickstart)
    entries = [p for p in cache.glob("v*/**/*.json") if '"plan_digest"' in p.read_text()]
    assert len(entries) == 1
    data = json.loads(entries[0].read_text(encoding="utf-8"))
    data["orders"] = data["orders"][1:]  # an order dropped, the digest left as it was
    entries[0].write_text(json.dumps(data), encoding="utf-8")
    assert _plan(quickstart) == truth
    assert planned == [1, 1]


def test_a_store_made_since_is_read_and_the_plan_recorded(
    cache: Path, quickstart: Path, planned: list[int]
) -> None:
    _plan(quickstart)
    assert CliRunner().invoke(main, ["sync", str(quickstart)]).exit_code == 0
    _plan(quickstart)  # the same files and snapshot, but now a store whose records count
    assert planned == [1, 1]
    with StoreRef().open(quickstart) as store:
        assert store.audit_log(1)[-1]["event"] == "plan_made"


def test_apply_plans_again_without_the_plan_cache(
    cache: Path, quickstart: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Apply never trusts the plan file, nor this cache: it plans again from the stages."""
    out = quickstart / "plan.json"
    made = CliRunner().invoke(
        main, ["plan", str(quickstart), "--out", str(out), "--today", "2026-11-29"]
    )
    assert made.exit_code == 0, made.output

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("apply read the plan cache")

    monkeypatch.setattr(plans, "key", refuse)
    monkeypatch.setattr(plans, "recall", refuse)
    applied = CliRunner().invoke(
        main, ["apply", str(out), "-C", str(quickstart), "--today", "2026-11-29"]
    )
    assert not isinstance(applied.exception, AssertionError), applied.output
    assert applied.exit_code in (0, 6), applied.output  # done, or waiting for approvals
