"""The cache layer wraps the stages and never lives inside them: a stage module imports
no cache, and every cache states its contract against a stage function that exists."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import accesshive
from accesshive.cache.contract import contracts

PACKAGE = Path(accesshive.__file__).parent
STAGES = ("config", "expand", "plan", "state")
NOT_CACHES = {"__init__", "contract", "store", "diff_rows"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_no_cache(stage: str) -> None:
    offending = {
        str(path.relative_to(PACKAGE)): sorted(
            m for m in _imports(path) if m.split(".")[:2] == ["accesshive", "cache"]
        )
        for path in sorted((PACKAGE / stage).rglob("*.py"))
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_every_cache_states_its_contract_against_an_existing_stage_function() -> None:
    modules = sorted(p.stem for p in (PACKAGE / "cache").glob("*.py") if p.stem not in NOT_CACHES)
    stated = contracts()
    assert len(stated) == len(modules)
    for module in modules:
        contract = importlib.import_module(f"accesshive.cache.{module}").CONTRACT
        assert contract in stated
        assert all((contract.key, contract.covers, contract.safe, contract.cleared))
        where, _, function = contract.wraps.partition(": ")
        target: object = importlib.import_module(
            "accesshive." + where.removesuffix(".py").replace("/", ".")
        )
        for part in function.split()[0].split("."):
            target = getattr(target, part)  # the stage function the cache names exists
        assert callable(target)
