"""Partial outages: what a target's failure is, and when a source is down.

Why here: a connector turns what its target says into a ``ConnectorError``, but a
library's exception can still leak unwrapped (ldap3, httpx, psycopg, sqlite3, or the
socket's ``OSError``). Those are the target failing, not accesshive: an order they stop
is ``errored`` with the target's words, never ``error`` (which means accesshive's own
evaluation failed). ``target_failure`` says which is which, in one place.

A source that refuses every connection should cost a bounded time, not one backoff per
order: ``Breaker`` counts each source's consecutive connection failures and opens once
the source is clearly down (``THRESHOLD`` in a row, or one order's retry budget spent on
connection failures). From then on its orders are ``errored`` at once, "<source> is
unreachable: <message>; not attempted", and the ones in backoff give up at their next
attempt. It does not close again during the run (no half-open probe): the next apply
tries the source afresh.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from dataclasses import dataclass

from accesshive.errors import ConnectorError
from accesshive.redaction import redact

THRESHOLD = 5
"""Consecutive connection failures after which a source is taken as down for the run."""


@functools.cache
def _library_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(target failures, connection failures among them) of the connectors' libraries,
    imported when a failure is first looked at (not at every start of the command line)."""
    failures: list[type[BaseException]] = [OSError, sqlite3.Error]
    connection: list[type[BaseException]] = [OSError]
    try:
        import httpx

        failures.append(httpx.HTTPError)
        connection.append(httpx.TransportError)
    except ImportError:  # pragma: no cover - a dependency
        pass
    try:
        from accesshive.connectors.ldap._ldap3 import lexc

        failures.append(lexc.LDAPException)
        connection += [lexc.LDAPCommunicationError, lexc.LDAPResponseTimeoutError]
    except ImportError:  # pragma: no cover - a dependency
        pass
    try:
        import psycopg

        failures.append(psycopg.Error)
        connection.append(psycopg.OperationalError)
    except ImportError:  # pragma: no cover - an optional dependency
        pass
    return tuple(failures), tuple(connection)


_LOCAL = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
"""``OSError``s about local files (a missing export, an unreadable key), not a network."""


def target_failure(exc: BaseException) -> str | None:
    """The target's message when ``exc`` is the target failing (a ``ConnectorError``,
    or a connector library's exception that leaked unwrapped); None when it is not (a
    bug or an evaluation failure of accesshive's own: ``error``). Every resolved secret
    is redacted from it (``accesshive.redaction``): a library's words may quote a URL
    with its password, a ``ConnectorError``'s are redacted already."""
    if isinstance(exc, ConnectorError):
        return exc.message
    if isinstance(exc, _library_errors()[0]):
        return redact(f"{type(exc).__name__}: {exc}".rstrip(": ") or type(exc).__name__)
    return None


def is_connection_failure(exc: BaseException) -> bool:
    """The target could not be reached (refused, reset, timed out, name not resolved),
    as opposed to an answer from it: looked for in ``exc`` and what caused it."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, _library_errors()[1]) and not isinstance(seen, _LOCAL):
            return True
        seen = seen.__cause__
    return False


class SourceUnreachable(ConnectorError):
    """The source's breaker is open: the order was not sent."""


@dataclass
class _State:
    failures: int = 0
    message: str | None = None


class Breaker:
    """Per source: consecutive connection failures, and whether the source is down."""

    def __init__(self, threshold: int = THRESHOLD) -> None:
        self.threshold = threshold
        self._lock = threading.Lock()
        self._sources: dict[str, _State] = {}

    def _state(self, source: str) -> _State:
        return self._sources.setdefault(source, _State())

    def down(self, source: str) -> str | None:
        """The message the source went down with; None while it is taken as up."""
        with self._lock:
            return self._state(source).message

    def open(self, source: str, message: str) -> None:
        with self._lock:
            state = self._state(source)
            if state.message is None:
                state.message = message

    def check(self, source: str) -> None:
        """Raise ``SourceUnreachable`` when the source is down."""
        message = self.down(source)
        if message is not None:
            raise SourceUnreachable(source, unreachable(source, message), retryable=False)

    def success(self, source: str) -> None:
        with self._lock:
            self._state(source).failures = 0

    def failure(self, source: str, exc: BaseException) -> None:
        """Count a failed attempt: a connection failure brings the source closer to down;
        any other failure is an answer, so the source is up."""
        with self._lock:
            state = self._state(source)
            if not is_connection_failure(exc):
                state.failures = 0
                return
            state.failures += 1
            if state.failures >= self.threshold and state.message is None:
                state.message = target_failure(exc) or redact(str(exc))

    def down_sources(self) -> dict[str, str]:
        with self._lock:
            return {s: st.message for s, st in sorted(self._sources.items()) if st.message}


def unreachable(source: str, message: str) -> str:
    return f"{source} is unreachable: {message}; not attempted"
