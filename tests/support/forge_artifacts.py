"""A stand-in for the GitHub and GitLab REST endpoints a merge job reads to find the
plan reviewers saw (examples/ci/scripts/fetch-reviewed-plan.py), served on 127.0.0.1
by a real HTTP server in the shapes the two APIs document:

- GitHub: ``GET /repos/{repo}/commits/{sha}/pulls``, ``GET /repos/{repo}/actions/artifacts
  ?name=``, and ``GET .../artifacts/{id}/zip``, which answers 302 to blob storage (here
  ``/blob/{id}``, which refuses a request that carries the API token, as the storage
  GitHub redirects to does);
- GitLab (under ``/api/v4``): ``GET /projects/{id}/repository/commits/{sha}/merge_requests``,
  ``GET /projects/{id}/merge_requests/{iid}/pipelines``,
  ``GET /projects/{id}/pipelines/{pid}/jobs`` and
  ``GET /projects/{id}/jobs/{job_id}/artifacts/{path}``.

Tests fill ``Forge.data`` with pull requests, artifacts, merge requests, pipelines and
jobs; every request is kept in ``Forge.requests`` with its headers.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.local_http import serving_on_localhost


class Forge(BaseHTTPRequestHandler):
    data: dict[str, Any] = {}
    requests: list[tuple[str, dict[str, str]]] = []

    def log_message(self, *args: object) -> None:
        return

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        Forge.requests.append((self.path, headers))
        url = urlsplit(self.path)
        path, query = url.path.removeprefix("/api/v4"), parse_qs(url.query)
        d = Forge.data
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/commits/(\w+)/pulls", path):
            return self._json(d["pulls"].get(m[2], []))
        if re.fullmatch(r"/repos/[^/]+/[^/]+/actions/artifacts", path):
            name = query["name"][0]
            found = [a for a in d["artifacts"] if a["name"] == name]
            return self._json({"total_count": len(found), "artifacts": found})
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/actions/artifacts/(\d+)/zip", path):
            self.send_response(302)
            self.send_header("Location", f"http://{self.headers['Host']}/blob/{m[1]}")
            self.send_header("Content-Length", "0")
            return self.end_headers()
        if m := re.fullmatch(r"/blob/(\d+)", path):
            if "authorization" in headers:
                return self._raw(400, b"<Error>InvalidAuthenticationInfo</Error>")
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as zipped:
                zipped.writestr("plan.json", d["zips"][int(m[1])])
            return self._raw(200, buffer.getvalue())
        if m := re.fullmatch(r"/projects/([^/]+)/repository/commits/(\w+)/merge_requests", path):
            return self._json(d["merge_requests"].get(m[2], []))
        if m := re.fullmatch(r"/projects/([^/]+)/merge_requests/(\d+)/pipelines", path):
            return self._json(d["pipelines"].get(int(m[2]), []))
        if m := re.fullmatch(r"/projects/([^/]+)/pipelines/(\d+)/jobs", path):
            scope = query.get("scope[]", [])
            jobs = d["jobs"].get(int(m[2]), [])
            return self._json([j for j in jobs if not scope or j["status"] in scope])
        if m := re.fullmatch(r"/projects/([^/]+)/jobs/(\d+)/artifacts/(.+)", path):
            files = d["job_files"].get(int(m[2]), {})
            if m[3] in files:
                return self._raw(200, files[m[3]])
        return self._raw(404, json.dumps({"message": "404 Not Found"}).encode())

    def _json(self, body: Any) -> None:
        self._raw(200, json.dumps(body).encode(), "application/json")

    def _raw(self, code: int, raw: bytes, kind: str = "application/octet-stream") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@contextmanager
def serving() -> Iterator[str]:
    """The stand-in on a free port, with nothing in it yet."""
    Forge.requests = []
    Forge.data = {
        "pulls": {},
        "artifacts": [],
        "zips": {},
        "merge_requests": {},
        "pipelines": {},
        "jobs": {},
        "job_files": {},
    }
    with serving_on_localhost(Forge) as url:
        yield url
