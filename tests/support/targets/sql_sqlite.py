"""The sql connector on a real SQLite file, as a contract target."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
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


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    path = tmp_path / "app.db"

    def connector() -> SqlConnector:
        return SqlConnector(
            "contract", sql_source("sqlite:///app.db"), ConnectorContext(root=tmp_path)
        )

    def change(ext: str, attr: str, value: str) -> None:
        with sqlite3.connect(path) as db:
            db.execute(f'UPDATE users SET "{attr}" = ? WHERE id = ?', (value, int(ext)))

    def break_target() -> None:
        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE users")

    def unreachable() -> SqlConnector:
        source = sql_source("sqlite:///missing/app.db", create_tables=False)
        return SqlConnector("contract", source, ConnectorContext(root=tmp_path))

    yield Target(
        kind="sql",
        connector=connector,
        account=account,
        name_attribute="login",
        changeable="display_name",
        entitlements=("staff", "builders"),
        page_size=SqlConnector.capabilities.page_size,
        out_of_band_change=change,
        break_target=break_target,
        unreachable=unreachable,
        extras={"unreachable_retryable": False},
    )
