"""The quickstart's wiki target (``examples/quickstart``: a SQLite database at
``.accesshive/wiki-app.db``), made to refuse for real: a trigger in its own database
aborts the insert of chosen logins, as a target that rejects a write does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def refuse_logins(repo: Path, *logins: str, message: str = "login is reserved") -> None:
    """The wiki's own database refuses to create these logins with ``message`` (a real
    target failure); with no logins, it takes every login again."""
    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        db.execute("DROP TRIGGER IF EXISTS refuse")
        if logins:
            quoted = ", ".join(f"'{login}'" for login in logins)
            db.execute(
                f"CREATE TRIGGER refuse BEFORE INSERT ON users WHEN NEW.login IN ({quoted}) "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
