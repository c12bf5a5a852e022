"""The in-memory, fault-injecting connector belongs to the tests, not to the package.

``tests/conftest.py`` registers it for the test process; an installed accesshive
does not know it, so a configuration naming ``connector: memory`` gets the
ordinary unknown-connector error, like any other kind nobody installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from accesshive.config import load_config
from accesshive.connectors import registry
from accesshive.errors import ConnectorError
from tests.conftest import EXAMPLES, ROOT
from tests.support.memory_connector import MemoryConnector

UNKNOWN = "no connector for kind 'memory' is installed"


def _memory_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    wiki = repo / "sources" / "wiki.yaml"
    wiki.write_text(
        wiki.read_text().replace(
            "    connection:\n", "    connection:\n      connector: memory\n      store: x\n"
        )
    )
    return repo


def test_the_package_ships_no_memory_connector() -> None:
    assert "memory" not in registry.BUILTIN
    assert importlib.util.find_spec("accesshive.connectors.memory") is None
    assert all(target.startswith("accesshive.") for target in registry.BUILTIN.values())


def test_the_examples_and_the_readme_do_not_use_it() -> None:
    texts = [(ROOT / "README.md").read_text()]
    texts += [p.read_text() for p in (ROOT / "examples").rglob("*.yaml")]
    assert not any("connector: memory" in text for text in texts)


def test_a_config_naming_it_gets_the_unknown_connector_error(tmp_path: Path) -> None:
    """A fresh process, as a user runs accesshive: the tests' registration is not there."""
    repo = _memory_repo(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    proc = subprocess.run(
        [sys.executable, "-m", "accesshive", "sync", str(repo), "--format", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 5, proc.stderr
    results = {r["source"]: r for r in json.loads(proc.stdout)}
    assert results["badges"]["ok"]
    assert not results["wiki"]["ok"]
    assert results["wiki"]["error"].startswith(UNKNOWN)


def test_only_the_tests_registration_makes_it_known(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(_memory_repo(tmp_path))
    assert isinstance(registry.connector_for(config, "wiki"), MemoryConnector)
    monkeypatch.setattr(registry, "_registered", {})
    with pytest.raises(ConnectorError, match=UNKNOWN):
        registry.connector_for(config, "wiki")


def test_registration_cannot_replace_a_built_in_connector() -> None:
    with pytest.raises(ValueError, match="'sql' is a built-in connector kind"):
        registry.register("sql", MemoryConnector)
    assert registry.connector_class("sql") is not MemoryConnector
