"""A second SCIM 2.0 service provider for the tests, from another ecosystem: SCIMMY
(npm ``scimmy`` 1.3.5 with ``scimmy-routers`` 1.3.2 on Express, pinned with their
dependencies in tests/support/scimmy/package-lock.json, installed by .ci/run with
``npm ci``). SCIMMY parses, filters, patches, validates and formats; only the
in-memory storage in tests/support/scimmy/server.mjs is ours. Started with node as
its own process on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.scim_process import ScimProcess

HERE = Path(__file__).resolve().parent / "scimmy"


def require() -> None:
    """Skip (or, in CI, fail) the calling test when node or SCIMMY is not installed."""
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed"
    elif not (HERE / "node_modules" / "scimmy-routers").is_dir():
        missing = "SCIMMY is not installed (npm ci --prefix tests/support/scimmy)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}, but CI must run the SCIMMY tests")
        pytest.skip(missing)


class ScimmyServer(ScimProcess):
    """A running SCIMMY server (see ``ScimProcess``)."""


@contextmanager
def scimmy_server(token: str = "scimmy-token-7c1e") -> Iterator[ScimmyServer]:
    """A fresh SCIMMY service provider (in-memory) for one test."""
    require()
    process = subprocess.Popen(
        ["node", "server.mjs", token], cwd=HERE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("port "):
        process.kill()
        process.wait()
        raise RuntimeError(f"the SCIMMY server did not start (exit {process.poll()})")
    server = ScimmyServer(f"http://127.0.0.1:{int(line.split()[1])}/scim/v2", token, process)
    try:
        yield server
    finally:
        server.stop()
