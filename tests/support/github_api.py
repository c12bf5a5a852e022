"""A stand-in for the three GitHub REST endpoints approvals read (a pull request, its
reviews, its issue comments), served on 127.0.0.1 by a real HTTP server, one item per
page (so that every list is paged, with GitHub's ``Link: rel="next"`` header), in the
shapes GitHub's REST API documents. The ``github`` fixture (tests/conftest.py) serves
it for pull request acme/access#7.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.local_http import serving_on_localhost


class _GitHub(BaseHTTPRequestHandler):
    """The three endpoints apply reads, one item per page (so every list is paged)."""

    data: dict[str, Any] = {}
    requests: list[tuple[str, dict[str, str]]] = []
    status: int = 200
    error_body: bytes = b""

    def log_message(self, *args: object) -> None:
        return

    def do_GET(self) -> None:
        _GitHub.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        path, _, query = self.path.partition("?")
        page = int(dict(p.split("=") for p in query.split("&") if p).get("page", "1"))
        if path == "/repos/acme/access/pulls/7" and self.status != 200:
            return self._raw(self.status, self.error_body)
        if path == "/repos/acme/access/pulls/7":
            return self._send({"number": 7, "user": {"login": self.data["author"]}})
        kind = {
            "/repos/acme/access/pulls/7/reviews": "reviews",
            "/repos/acme/access/issues/7/comments": "comments",
        }.get(path)
        if kind is None:
            return self._raw(404, json.dumps({"message": "Not Found"}).encode())
        if kind == "comments" and self.data.get("comments_status"):
            return self._raw(self.data["comments_status"], self.data["comments_body"])
        items = self.data[kind]
        links = {}
        if page < len(items):
            host = f"http://{self.headers['Host']}"
            links["Link"] = f'<{host}{path}?per_page=100&page={page + 1}>; rel="next"'
        return self._send(items[page - 1 : page], links)

    def _send(self, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _raw(self, code: int, raw: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@contextmanager
def serving() -> Iterator[str]:
    """The stand-in on a free port (pull request by ``dave``, nothing said yet)."""
    _GitHub.requests, _GitHub.status, _GitHub.error_body = [], 200, b""
    _GitHub.data = {"author": "dave", "reviews": [], "comments": []}
    with serving_on_localhost(_GitHub) as url:
        yield url


def _review(login: str, state: str, body: str | None, n: int) -> dict[str, Any]:
    return {
        "user": {"login": login},
        "state": state,
        "body": body,
        "html_url": f"https://github.test/acme/access/pull/7#review-{n}",
        "submitted_at": f"2026-11-29T10:0{n}:00Z",
    }


def _comment(login: str, body: str | None, n: int, edited_at: str | None = None) -> dict[str, Any]:
    """An issue comment as GitHub's REST API gives it: ``updated_at`` is its
    ``created_at`` until someone edits it (``edited_at``)."""
    created = f"2026-11-29T11:0{n}:00Z"
    return {
        "user": {"login": login},
        "body": body,
        "html_url": f"https://github.test/acme/access/pull/7#comment-{n}",
        "created_at": created,
        "updated_at": edited_at or created,
    }
