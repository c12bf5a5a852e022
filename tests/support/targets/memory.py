"""The in-memory connector as a contract target (the template for the others)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.config.model import Source
from accesshive.connectors.base import ConnectorContext
from tests.support.memory_connector import MemoryConnector
from tests.support.targets import Target

_names = itertools.count()


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    store = f"contract-{next(_names)}"
    connection: dict[str, Any] = {"store": store}

    def source(**extra: Any) -> Source:
        return Source.model_validate(
            {
                "kind": "sql",
                "connection": {**connection, **extra},
                "account": {
                    "name_attribute": "login",
                    "create": {"login": "{{ id }}"},
                    "sync": {"email": "{{ email }}", "display_name": "{{ display_name }}"},
                    "correlation": ["login"],
                },
                "entitlements": {"staff": {}, "builders": {}},
            }
        )

    def connector() -> MemoryConnector:
        return MemoryConnector("contract", source(), ConnectorContext(root=tmp_path))

    def change(ext: str, attr: str, value: str) -> None:
        MemoryConnector.stores[store][ext]["attributes"][attr] = value

    def unreachable() -> MemoryConnector:
        failing = {"message": "connection refused", "retryable": True}
        fail = {op: failing for op in ("read", "create_account", "grant")}
        return MemoryConnector("contract", source(fail=fail), ConnectorContext(root=tmp_path))

    def break_target() -> None:
        MemoryConnector.broken.add(store)

    yield Target(
        kind="memory",
        connector=connector,
        account=lambda n: {
            "login": f"user{n:04}",
            "email": f"u{n}@example.com",
            "display_name": f"User {n}",
        },
        name_attribute="login",
        changeable="display_name",
        entitlements=("staff", "builders"),
        page_size=MemoryConnector.capabilities.page_size,
        out_of_band_change=change,
        break_target=break_target,
        unreachable=unreachable,
    )
    MemoryConnector.stores.pop(store, None)
    MemoryConnector.broken.discard(store)
