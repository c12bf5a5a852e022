"""What the ``sql`` connector makes of its databases' errors: a lock another process
holds on a SQLite file (waited for, then said as a lock), a PostgreSQL connection
failure (retryable), and every other error in its first line.

Apart from the connector because it is what decides whether apply tries again."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from accesshive.errors import ConnectorError

BUSY_TIMEOUT = 5.0
"""Seconds one attempt waits for another process's lock on a SQLite file: long enough for
an application's write to finish, short enough that a lock held on purpose is reported
before the user wonders whether apply hangs (apply's retries wait again)."""


def is_lock(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database table is locked" / busy: another
    connection holds a lock the busy timeout did not outlast."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc)
    return "locked" in text or "busy" in text


def first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def classify(exc: Exception, error: Callable[..., ConnectorError]) -> Exception:
    """The connector's error for a database error (``error``: the connector's factory);
    anything else is returned as it is (a bug of ours keeps its traceback)."""
    if isinstance(exc, sqlite3.Error):
        return error(str(exc))
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return exc
    if isinstance(exc, psycopg.OperationalError):
        return error(first_line(exc), retryable=True)
    if isinstance(exc, psycopg.Error):
        return error(first_line(exc))
    return exc
