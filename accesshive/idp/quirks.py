"""Request bodies as the RFC parser reads them: vendors' quirks rewritten, absurd bodies refused.

Why a module of its own: identity providers do not all send what RFC 7644 says, and a
body is read here, before scim2-server sees it, so that what they really send works
(Entra's capitalised PATCH ops ("Replace"), ``"active": "False"`` sent as a string,
members removed by value, the ADSCIM Group schema, ``manager`` as a plain id and
attribute paths as the keys of a path-less replace) and what no provider needs is
refused with an RFC error: a body over ``MAX_BODY`` bytes (413), or nested deeper than
``MAX_DEPTH`` (400, not a RecursionError).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

MAX_BODY = 1024 * 1024
"""Largest request body accepted (a user or a batch of group members fits many times)."""


def _error(
    start_response: Callable[..., Any], status: str, detail: str, **extra: str
) -> Iterable[bytes]:
    """An RFC 7644 error answered before scim2-server sees the request."""
    body = json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": status.split()[0],
            **extra,
            "detail": detail,
        }
    ).encode()
    start_response(
        status, [("Content-Type", "application/scim+json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _too_large(start_response: Callable[..., Any]) -> Iterable[bytes]:
    return _error(
        start_response, "413 Payload Too Large", f"the request body is larger than {MAX_BODY} bytes"
    )


class _TooDeep(ValueError):
    """A body nested deeper than any SCIM resource."""


def accept_quirks(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Refuse oversized or absurdly nested bodies; rewrite what real providers send before
    the RFC parser."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("PATCH", "PUT", "POST"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
            if length > MAX_BODY:
                return _too_large(start_response)
            if length > 0 or chunked:
                # a chunked body has no length to check first: read one byte past the limit
                raw = environ["wsgi.input"].read(length if length > 0 else MAX_BODY + 1)
                if len(raw) > MAX_BODY:
                    return _too_large(start_response)
                try:
                    fixed = _fix(raw)
                except _TooDeep:
                    return _error(
                        start_response,
                        "400 Bad Request",
                        f"the request body is nested deeper than {MAX_DEPTH} levels",
                        scimType="invalidSyntax",
                    )
                environ["wsgi.input"] = io.BytesIO(fixed)
                environ["CONTENT_LENGTH"] = str(len(fixed))
        return app(environ, start_response)

    return wrapped


MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted (a SCIM resource needs about five)."""

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
IGNORED_SCHEMAS = frozenset(
    {
        # Entra's Group create names it; it defines no attribute accesshive reads
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
    }
)


def _depth_ok(raw: bytes) -> bool:
    """Whether brackets (outside strings) nest at most MAX_DEPTH deep, without recursion."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def _fix(raw: bytes) -> bytes:
    if not _depth_ok(raw):
        raise _TooDeep
    try:
        body = json.loads(raw)
    except ValueError:
        return raw  # the RFC parser answers with the proper error
    if not isinstance(body, dict):
        return raw
    if isinstance(body.get("schemas"), list):
        body["schemas"] = [s for s in body["schemas"] if s not in IGNORED_SCHEMAS]
        for urn in IGNORED_SCHEMAS:
            body.pop(urn, None)
    _fix_resource(body)
    if isinstance(body.get("Operations"), list):
        body["Operations"] = [fixed for op in body["Operations"] for fixed in _fix_op(op)]
    return json.dumps(body).encode()


def _boolean(value: object) -> object:
    """Entra's string booleans ("True", "False") as booleans; anything else as it came."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _manager(value: object) -> object:
    """Entra sends the enterprise ``manager`` as the manager's plain id."""
    return {"value": value} if isinstance(value, str) else value


def _fix_resource(body: dict[str, Any]) -> None:
    """A whole resource (POST, PUT, or a path-less PATCH value) as the RFC parser reads it."""
    if "active" in body:
        body["active"] = _boolean(body["active"])
    extension = body.get(ENTERPRISE)
    if isinstance(extension, dict) and "manager" in extension:
        extension["manager"] = _manager(extension["manager"])


def _split_key(key: str) -> bool:
    """Whether a key of a path-less PATCH value is an attribute path, not an attribute:
    Entra's ``name.givenName``, ``emails[type eq "work"].value`` or
    ``urn:…:enterprise:2.0:User:employeeNumber``."""
    if "[" in key:
        return True
    if key.startswith("urn:"):
        return key.rsplit(":", 1)[0].startswith("urn:ietf:params:scim:schemas:") and not (
            key.endswith(":User") or key.endswith(":Group")
        )
    return "." in key


def _fix_op(op: object) -> list[object]:
    """One PATCH operation as the RFC parser reads it (sometimes as several)."""
    if not isinstance(op, dict) or not isinstance(op.get("op"), str):
        return [op]
    op["op"] = op["op"].lower()  # Entra: "Replace", "Add", "Remove"
    path, value = op.get("path"), op.get("value")
    if isinstance(path, str):
        bare = path.removeprefix(ENTERPRISE + ":")
        if path == "active":
            op["value"] = _boolean(value)
        elif bare == "manager" and path != bare:
            op["value"] = _manager(value)
        if op["op"] == "remove" and path == "members" and isinstance(value, list):
            # Entra removes members by value: one filtered remove per member (RFC 7644 3.5.2.2)
            ids = [m.get("value") for m in value if isinstance(m, dict)]
            if ids and all(isinstance(i, str) for i in ids):
                return [{"op": "remove", "path": f"members[value eq {json.dumps(i)}]"} for i in ids]
        return [op]
    if isinstance(value, dict):
        _fix_resource(value)
        paths = {k: v for k, v in value.items() if _split_key(k)}
        if paths:
            # Entra's path-less replace with attribute paths as keys: one operation per path
            rest = {k: v for k, v in value.items() if k not in paths}
            split: list[object] = [{"op": op["op"], "value": rest}] if rest else []
            for key, item in paths.items():
                if key == f"{ENTERPRISE}:manager":
                    item = _manager(item)
                elif key == "active":
                    item = _boolean(item)
                split.append({"op": op["op"], "path": key, "value": item})
            return split
    return [op]
