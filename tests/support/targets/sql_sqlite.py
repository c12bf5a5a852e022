"""The sql connector on a real SQLite file, as a contract target."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.sql import SqlConnector
from tests.support.targets import Target


def sql_source(url: str, **extra: Any) -> Source:
    return Source.model_validate(
        {
            "kind": "sql",
            "connection": {
                "url": url,
                "create_tables": True,
                "accounts_table": "users",
                "grants_table": "user_groups",
                "columns": {"external_id": "id", "enabled": "active", "identity": "owner"},
                "grant_columns": {"account": "user_id", "entitlement": "group_name"},
                **extra,
            },
            "account": {
                "name_attribute": "login",
                "schema": {"login": {"required": True}, "email": {"type": "email"}},
                "create": {"login": "{{ id }}"},
                "sync": {"email": "{{ email }}", "display_name": "{{ display_name }}"},
                "correlation": ["login"],
            },
            "entitlements": {"staff": {}, "builders": {}},
        }
    )


def account(n: int) -> dict[str, Any]:
    return {"login": f"user{n:04}", "email": f"u{n}@example.com", "display_name": f"User {n}"}


def sql_target(
    tmp_path: Path,
    url: str,
    unreachable_url: str,
    run: Callable[[str, tuple[Any, ...]], None],
    **extras: Any,
) -> Target:
    """The sql connector's contract target over any database; ``run`` executes a statement
    on it directly (with ``?`` placeholders), behind the connector's back."""
    context = ConnectorContext(root=tmp_path)

    def change(ext: str, attr: str, value: str) -> None:
        run(f'UPDATE users SET "{attr}" = ? WHERE id = ?', (value, int(ext)))

    def unreachable() -> SqlConnector:
        return SqlConnector("contract", sql_source(unreachable_url, create_tables=False), context)

    return Target(
        kind="sql",
        connector=lambda: SqlConnector("contract", sql_source(url), context),
        account=account,
        name_attribute="login",
        changeable="display_name",
        entitlements=("staff", "builders"),
        page_size=SqlConnector.capabilities.page_size,
        out_of_band_change=change,
        break_target=lambda: run("DROP TABLE users", ()),
        unreachable=unreachable,
        extras=extras,
    )


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    def run(sql: str, params: tuple[Any, ...]) -> None:
        with sqlite3.connect(tmp_path / "app.db") as db:
            db.execute(sql, params)

    yield sql_target(
        tmp_path,
        "sqlite:///app.db",
        "sqlite:///missing/app.db",
        run,
        unreachable_retryable=False,
    )
