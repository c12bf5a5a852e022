"""The core every table group of the ``Store`` builds on: the environment, one statement
in the current transaction (``_execute``, given by the backend) and ``transaction``.

Why its own module: the table-group mixins (``_history``, ``_reviews``, ``_idp``,
``_audit``, ``_locks``) share it, and ``base.Store`` composes them; keeping it apart
avoids a cycle between the mixins and ``base``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any


class Database(ABC):
    """One environment's tables over a DB-API backend; every write is a transaction."""

    def __init__(self, environment: str) -> None:
        self.environment = environment

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in the current transaction; return its rows (if any)."""

    @abstractmethod
    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row, in the current transaction."""

    _depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that excludes other writers until it ends; nested calls join
        the outer one, so a step made of several writes commits once."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self._outermost():
                yield
        finally:
            self._depth = 0

    @abstractmethod
    def _outermost(self) -> AbstractContextManager[None]:
        """Begin, commit (or roll back) one real transaction of the backend."""
