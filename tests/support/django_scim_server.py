"""A third SCIM 2.0 service provider for the tests, from PyPI: django-scim2 (0.23.0,
pinned in pyproject's test extras) over Django and SQLite. django-scim2 parses
filters, applies PATCH, pages and formats every answer with its own default adapters;
only the Django project around it in tests/support/django_scim/ is ours (settings,
URLs, the user and group models its mixins require, a bearer-token login). Started as
its own Python process serving with waitress on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent / "django_scim"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class DjangoScimServer:
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


@functools.cache
def _migrated() -> Path:
    """A database with django-scim2's tables, migrated once per test run (it takes
    seconds); each server starts on a copy of it."""
    folder = Path(tempfile.mkdtemp(prefix="django-scim-"))
    atexit.register(shutil.rmtree, folder, True)
    database = folder / "template.sqlite3"
    subprocess.run(
        [sys.executable, "serve.py", "--migrate-only", "-", str(database)],
        cwd=HERE,
        check=True,
        capture_output=True,
        text=True,
    )
    return database


@contextmanager
def django_scim_server(token: str = "django-scim-token-4b9d") -> Iterator[DjangoScimServer]:
    """A fresh django-scim2 service provider (its own SQLite file) for one test."""
    with tempfile.TemporaryDirectory(prefix="django-scim-") as folder:
        database = Path(folder) / "db.sqlite3"
        shutil.copyfile(_migrated(), database)
        process = subprocess.Popen(
            [sys.executable, "serve.py", token, str(database)],
            cwd=HERE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("port "):
            process.kill()
            process.wait()
            raise RuntimeError(f"the django-scim2 server did not start (exit {process.poll()})")
        port = int(line.split()[1])
        server = DjangoScimServer(f"http://127.0.0.1:{port}/scim/v2", token, process)
        try:
            yield server
        finally:
            server.stop()
