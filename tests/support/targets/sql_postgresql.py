"""The sql connector on a real PostgreSQL database, as a contract target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from accesshive.connectors.base import ConnectorContext
from accesshive.connectors.sql import SqlConnector
from tests.support.targets import Target
from tests.support.targets.sql_sqlite import account, sql_source


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    url: str = request.getfixturevalue("postgres_db")

    def connector() -> SqlConnector:
        return SqlConnector("contract", sql_source(url), ConnectorContext(root=tmp_path))

    def change(ext: str, attr: str, value: str) -> None:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f'UPDATE users SET "{attr}" = %s WHERE id = %s', (value, int(ext)))

    def break_target() -> None:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("DROP TABLE users")

    def unreachable() -> SqlConnector:
        source = sql_source("postgresql://nobody@127.0.0.1:1/none", create_tables=False)
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
    )
