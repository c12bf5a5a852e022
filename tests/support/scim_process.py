"""A SCIM service provider the tests run as its own process (SCIMMY, django-scim2): the
handle a test sets the server up and inspects it through, over its own HTTP API, and
stops it with. What differs between servers is only how each is started."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.scim_server import GROUP, PATCH_OP, bearer_client


@dataclass
class ScimProcess:
    url: str
    """The SCIM root, http://127.0.0.1:PORT/scim/v2."""
    token: str
    process: subprocess.Popen[str]
    _http: httpx.Client | None = field(default=None, repr=False)

    def http(self) -> httpx.Client:
        """A client for setting up and inspecting the server (bearer token included)."""
        if self._http is None:
            self._http = bearer_client(self.url, self.token)
        return self._http

    def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http().request(
            method,
            path,
            content=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/scim+json"},
        )

    def _ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.send(method, path, body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def create_group(self, name: str) -> str:
        return str(self._ok("POST", "Groups", {"schemas": [GROUP], "displayName": name})["id"])

    def patch(self, endpoint: str, rid: str, *operations: dict[str, Any]) -> None:
        body = {"schemas": [PATCH_OP], "Operations": list(operations)}
        self._ok("PATCH", f"{endpoint}/{rid}", body)

    def get(self, endpoint: str, rid: str) -> dict[str, Any]:
        found: dict[str, Any] = self._ok("GET", f"{endpoint}/{rid}")
        return found

    def members(self, group_id: str) -> list[str]:
        return sorted(m["value"] for m in self.get("Groups", group_id).get("members", []))

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
