"""Connectors per source, handed out one thread at a time, at most ``concurrency`` each.

Why a pool: database connections and HTTP sessions are not shared between
threads, and a source's ``concurrency`` setting bounds how hard apply hits it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from accesshive.config import Config
from accesshive.connectors.base import Connector, WriteLimits
from accesshive.connectors.registry import connector_for


class ConnectorPool:
    def __init__(self, config: Config, write_limits: WriteLimits | None = None) -> None:
        self.config = config
        self.write_limits = write_limits
        self._idle: dict[str, queue.Queue[Connector]] = {}
        self._slots: dict[str, threading.Semaphore] = {}
        self._all: list[Connector] = []
        self._first: dict[str, Connector] = {}
        """Per source, its first connector: the others share what it learns (``share_with``)."""
        self._lock = threading.Lock()

    def _slot(self, source: str) -> threading.Semaphore:
        with self._lock:
            if source not in self._slots:
                self._slots[source] = threading.Semaphore(self.config.sources[source].concurrency)
                self._idle[source] = queue.Queue()
            return self._slots[source]

    @contextmanager
    def connector(self, source: str) -> Iterator[Connector]:
        slot = self._slot(source)
        with slot:
            try:
                conn = self._idle[source].get_nowait()
            except queue.Empty:
                conn = connector_for(self.config, source, self.write_limits)
                with self._lock:
                    first = self._first.setdefault(source, conn)
                    self._all.append(conn)
                if first is not conn:
                    conn.share_with(first)
            try:
                yield conn
            finally:
                self._idle[source].put(conn)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._first.clear()
