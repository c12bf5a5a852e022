"""``accesshive scim serve``: a SCIM 2.0 service provider that identity providers push to.

The protocol (resources, filters, paging, PATCH, ETags, RFC errors) is
scim2-server's; accesshive adds what makes it safe to expose:
- bearer tokens checked against a hash in the store (a missing, wrong or
  revoked token gets 401 and nothing else happens);
- every change persisted to the store as an identity-source record, and audited;
- a user whose values the identity source cannot map (a GUID for an integer attribute)
  refused with 400 invalidValue naming the attribute, before anything is stored;
- vendors' quirks accepted before parsing (``quirks.py``): Entra's capitalised PATCH ops
  ("Replace"), ``"active": "False"`` sent as a string, members removed by value, the
  ADSCIM Group schema, ``manager`` as a plain id and attribute paths as the keys of a
  path-less replace;
- bodies nested deeper than any resource refused with 400 (not a RecursionError).
Every request reads and writes the store itself (``RecordingStorage``), so replicas on
one PostgreSQL store serve the same data.

The parts: ``storage.py`` (the store as scim2-server's storage) and ``unique.py`` (its
unique values), ``application.py`` (the bearer tokens), ``quirks.py`` (request bodies
rewritten or refused before parsing); this module puts them together under ``/scim/v2``
with the bearer challenge on every 401.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from accesshive.idp.application import ProviderApplication
from accesshive.idp.quirks import accept_quirks
from accesshive.idp.storage import Check
from accesshive.store import Store


def make_app(
    store: Store,
    source: str,
    on_deactivation: Callable[[dict[str, Any]], None] | None = None,
    check: Check | None = None,
) -> Callable[..., Iterable[bytes]]:
    """The WSGI application; ``check`` refuses users the identity source cannot map."""
    return mounted(
        challenged(
            accept_quirks(
                ProviderApplication(store, source, threading.RLock(), on_deactivation, check)
            )
        )
    )


REALM = "accesshive scim"


def challenged(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Give every 401 the bearer challenge RFC 6750 §3 describes (RFC 7644 §2 defers to
    it), naming accesshive's realm and the error: HTTP clients and identity providers'
    connection tests read it to tell "send a token" (no ``error``) from "this token is
    refused" (``error="invalid_token"``)."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sent = bool(str(environ.get("HTTP_AUTHORIZATION", "")).strip())

        def respond(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            if status.startswith("401"):
                value = f'Bearer realm="{REALM}"'
                if sent:
                    value += ', error="invalid_token"'
                # scim2-server sends its own bare challenge (realm "SCIM"): replace it
                kept = [(k, v) for k, v in headers if k.lower() != "www-authenticate"]
                headers = [*kept, ("WWW-Authenticate", value)]
            return start_response(status, headers, *exc)

        return app(environ, respond)

    return wrapped


MOUNT = "/scim"
"""The prefix before scim2-server's ``/v2``: ``scim serve --help`` and the README name
``/scim/v2``, the URL identity providers are given."""


def mounted(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Serve ``app`` under ``/scim/v2`` (its ``meta.location`` URLs too). ``/v2``, where
    earlier versions answered, is still served, so a provider set up with it keeps
    working."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path == MOUNT or path.startswith(MOUNT + "/"):
            environ["SCRIPT_NAME"] = str(environ.get("SCRIPT_NAME", "")) + MOUNT
            environ["PATH_INFO"] = path[len(MOUNT) :]
        return app(environ, start_response)

    return wrapped
