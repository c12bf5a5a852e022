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


def wiki_state(repo: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The wiki's users (login, active) and group memberships, sorted: what a test
    compares before and after a refused apply (nothing may have changed)."""
    db = sqlite3.connect(repo / ".accesshive" / "wiki-app.db")
    users = db.execute("SELECT login, active FROM users ORDER BY login").fetchall()
    groups = db.execute("SELECT * FROM user_groups ORDER BY 1, 2").fetchall()
    db.close()
    return users, groups


def someone_else_edits_the_wiki(repo: Path) -> None:
    """An unrelated change on the target: a user nobody manages appears (the wiki
    changed since a plan, so a plan of it is stale)."""
    db = sqlite3.connect(repo / ".accesshive" / "wiki-app.db")
    columns = [r[1] for r in db.execute("PRAGMA table_info(users)")]
    values = {"id": 99, "login": "temp.contractor", "email": "temp@example.com", "active": 1}
    used = [c for c in columns if c in values]
    db.execute(
        f"INSERT INTO users ({', '.join(used)}) VALUES ({', '.join('?' * len(used))})",
        [values[c] for c in used],
    )
    db.commit()
    db.close()
