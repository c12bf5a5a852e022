"""The sql connector on a real PostgreSQL database, as a contract target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.targets import Target
from tests.support.targets.sql_sqlite import sql_target


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    url: str = request.getfixturevalue("postgres_db")

    def run(sql: str, params: tuple[Any, ...]) -> None:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(sql.replace("?", "%s"), params)

    yield sql_target(tmp_path, url, "postgresql://nobody@127.0.0.1:1/none", run)
