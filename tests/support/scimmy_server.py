"""A second SCIM 2.0 service provider for the tests, from another ecosystem: SCIMMY
(npm ``scimmy`` 1.3.5 with ``scimmy-routers`` 1.3.2 on Express, pinned with their
dependencies in tests/support/scimmy/package-lock.json, installed by .ci/run with
``npm ci``). SCIMMY parses, filters, patches, validates and formats; only the
in-memory storage in tests/support/scimmy/server.mjs is ours. Started with node as
its own process on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent / "scimmy"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


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


@dataclass
class ScimmyServer:
    url: str
    """The SCIM root, http://127.0.0.1:PORT/scim/v2."""
    token: str
    process: subprocess.Popen[str]
    _http: httpx.Client | None = field(default=None, repr=False)

    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.url + "/",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=10,
                verify=False,  # plain HTTP
            )
        return self._http

    def _send(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http().request(
            method,
            path,
            content=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/scim+json"},
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def create_group(self, name: str) -> str:
        return str(self._send("POST", "Groups", {"schemas": [GROUP], "displayName": name})["id"])

    def patch(self, endpoint: str, rid: str, *operations: dict[str, Any]) -> None:
        body = {"schemas": [PATCH_OP], "Operations": list(operations)}
        self._send("PATCH", f"{endpoint}/{rid}", body)

    def get(self, endpoint: str, rid: str) -> dict[str, Any]:
        found: dict[str, Any] = self._send("GET", f"{endpoint}/{rid}")
        return found

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


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
