"""A SCIM service provider that answers the way real ones do: a proxy process in front
of a real scim2-server that rewrites its answers (never what it is sent).

Run as its own process on 127.0.0.1 (``python -m tests.support.scim_quirk_proxy
--backend URL --quirk NAME ...``; it prints ``port N`` once it listens), or from a
test with ``read_quirk_proxy(backend_url, quirks)``. Each quirk reproduces what a named
real-world service provider answers:

- ``rfc-3.4.3``: ``GET /Users/{id}?attributes=...`` answers the resource without
  ``schemas`` and ``meta``, exactly like RFC 7644 §3.4.3's example response.
- ``no-schemas``: no ``schemas`` or ``meta`` anywhere, resources and ListResponses
  alike (scimgateway plugins before jelhub/scimgateway#44, laravel-scim-server
  before its PR #81).
- ``lowercase-names``: every attribute name in lower case (``username``,
  ``displayname``, ``totalresults``): the system of scimmyjs/scimmy#7.
- ``capitalised-names``: attribute names capitalised (``UserName``, ``Active``,
  ``Emails``, ``Primary``), as Microsoft's SCIM reference code and validator spell
  them (AzureAD/SCIMReferenceCode#62).
- ``capitalised-types``: canonical values capitalised (``"type": "Work"``).
- ``string-booleans``: booleans as ``"True"``/``"False"`` (Entra-style; WSO2 Identity
  Server's boolean claims, wso2/product-is#24814) and ListResponse numbers as strings.
- ``numeric-booleans``: booleans as ``1``/``0`` (Snipe-IT before
  grokability/snipe-it#13948).
- ``numbers-for-strings``: string values made of digits as JSON numbers
  (``"employeeNumber": 1042``).
- ``extension-first``: ``schemas`` lists the enterprise extension before the core
  schema (RFC 7643 §3 gives the list no order; no provider named: a guard for the
  models, which take the first schema as the resource's).
- ``vendor-extras``: attributes and an extension nobody declared (WSO2 Identity
  Server's ``urn:scim:wso2:schema`` object, listed in ``schemas``), on every resource.

Paging (the request's query is what changes):

- ``count-capped``: at most 2 resources a page, whatever ``count`` asked (Slack caps
  at 1000, Entra's gallery apps at 100...).
- ``count-ignored``: ``count`` is ignored: every resource from ``startIndex`` on in one
  page (RFC 7644 §3.4.2.4 lets a provider return fewer, never more; some return all).
- ``start-index-ignored``: ``startIndex`` is ignored: every page is the first one, and
  the answer says nothing of where it starts (broken paging).
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

READ_QUIRKS = (
    "rfc-3.4.3",
    "no-schemas",
    "lowercase-names",
    "capitalised-names",
    "capitalised-types",
    "string-booleans",
    "numeric-booleans",
    "numbers-for-strings",
    "vendor-extras",
    "extension-first",
)
PAGING_QUIRKS = ("count-capped", "count-ignored", "start-index-ignored")
QUIRKS = READ_QUIRKS + PAGING_QUIRKS
WSO2 = "urn:scim:wso2:schema"
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server", "host"}
)


def rewrite(data: Any, quirks: frozenset[str], *, single_with_attributes: bool) -> Any:
    """A scim2-server answer as the quirks' providers answer it."""
    if not isinstance(data, dict):
        return data
    if "urn:ietf:params:scim:api:messages:2.0:Error" in data.get("schemas", []):
        return data
    is_list = "Resources" in data
    if is_list:
        data = {**data, "Resources": [_resource(r, quirks) for r in data["Resources"]]}
        if "no-schemas" in quirks:
            data.pop("schemas", None)
        if "string-booleans" in quirks:
            data = {k: str(v) if isinstance(v, int) else v for k, v in data.items()}
        return _names(data, quirks)
    data = _resource(data, quirks)
    if "rfc-3.4.3" in quirks and single_with_attributes:
        data.pop("schemas", None)
        data.pop("meta", None)
    return data


def _resource(doc: dict[str, Any], quirks: frozenset[str]) -> dict[str, Any]:
    out = dict(doc)
    if "no-schemas" in quirks:
        out.pop("schemas", None)
        out.pop("meta", None)
    if "vendor-extras" in quirks:
        out["lastLoginTime"] = "2026-01-01T00:00:00Z"
        out["avatar"] = {"url": "https://example.com/a.png", "size": 64}
        out[WSO2] = {"backupCodeEnabled": "false", "accountLocked": False, "loginCount": 3}
        if "schemas" in out:
            out["schemas"] = [*out["schemas"], WSO2]
    if "extension-first" in quirks and len(out.get("schemas", [])) > 1:
        out["schemas"] = [*out["schemas"][1:], out["schemas"][0]]
    out = _values(out, quirks)
    return _names(out, quirks)


def _values(value: Any, quirks: frozenset[str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _values(v, quirks, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_values(v, quirks, key) for v in value]
    if isinstance(value, bool):
        if "string-booleans" in quirks:
            return "True" if value else "False"
        if "numeric-booleans" in quirks:
            return 1 if value else 0
        return value
    if isinstance(value, str):
        if key == "type" and "capitalised-types" in quirks:
            return value.capitalize()
        if "numbers-for-strings" in quirks and value.isdigit() and key not in ("id", "value"):
            return int(value)
    return value


def _names(value: Any, quirks: frozenset[str]) -> Any:
    if isinstance(value, list):
        return [_names(v, quirks) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        name = key
        if not key.startswith("urn:") and key not in ("schemas", "id", "$ref"):
            if "lowercase-names" in quirks:
                name = key.lower()
            elif "capitalised-names" in quirks:
                name = key[:1].upper() + key[1:]
        out[name] = _names(item, quirks)
    return out


def _paging(path: str, query: dict[str, str], quirks: frozenset[str]) -> str:
    """The request as the quirks' providers take it."""
    if "count" in query:
        if "count-capped" in quirks:
            query["count"] = str(min(int(query["count"]), 2))
        if "count-ignored" in quirks:
            query["count"] = "1000"
    if "start-index-ignored" in quirks:
        query.pop("startIndex", None)
    return path + ("?" + urlencode(query) if query else "")


@dataclass
class _Config:
    host: str
    port: int
    base_path: str
    quirks: frozenset[str]


class _Handler(BaseHTTPRequestHandler):
    config: _Config
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query))
        target = _paging(split.path, query, self.config.quirks)
        conn = http.client.HTTPConnection(self.config.host, self.config.port, timeout=30)
        try:
            conn.request(self.command, target, body=body, headers=headers)
            response = conn.getresponse()
            status, reply_headers, reply = response.status, response.getheaders(), response.read()
        finally:
            conn.close()
        parts = [p for p in split.path[len(self.config.base_path) :].split("/") if p]
        resources = bool(parts) and parts[0] in ("Users", "Groups")
        if resources and 200 <= status < 300 and reply:
            try:
                data = json.loads(reply)
            except ValueError:
                data = None
            if data is not None:
                single = len(parts) == 2 and self.command == "GET" and "attributes" in query
                data = rewrite(data, self.config.quirks, single_with_attributes=single)
                if "start-index-ignored" in self.config.quirks and isinstance(data, dict):
                    data.pop("startIndex", None)
                reply = json.dumps(data).encode()
        self.send_response(status)
        for key, value in reply_headers:
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", required=True, help="the SCIM root, http://host:port/v2")
    parser.add_argument("--quirk", action="append", choices=QUIRKS, default=[])
    args = parser.parse_args(argv)
    backend = urlsplit(args.backend)
    base_path = backend.path.rstrip("/")
    config = _Config(
        backend.hostname or "127.0.0.1", backend.port or 80, base_path, frozenset(args.quirk)
    )
    handler = type("Handler", (_Handler,), {"config": config})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    print(f"port {server.server_port}", flush=True)
    server.serve_forever(poll_interval=0.05)


@contextmanager
def read_quirk_proxy(backend_url: str, quirks: list[str] | tuple[str, ...]) -> Iterator[str]:
    """Start the proxy as a process in front of ``backend_url``; yield its SCIM root URL."""
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "tests.support.scim_quirk_proxy", "--backend", backend_url]
    for quirk in quirks:
        command += ["--quirk", quirk]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError(f"the quirk proxy did not start (exit {process.poll()})")
        yield f"http://127.0.0.1:{int(line.split()[1])}{urlsplit(backend_url).path}"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


if __name__ == "__main__":
    main()
