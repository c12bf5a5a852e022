"""Runs the contract suite against every target module in tests/support/targets/."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.support.targets as targets_pkg
from tests.support.targets import Target

TARGETS = sorted(m.name for m in pkgutil.iter_modules(targets_pkg.__path__))


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    module = importlib.import_module(f"tests.support.targets.{request.param}")
    yield from module.make_target(request, tmp_path)
