"""Eventual consistency in the ``google_workspace`` connector.

Google's Directory API is eventually consistent: right after a user is created or
changed, a read or a membership insert may still answer 404 for it. This module
remembers, across every connector instance (apply may verify on another pooled
connector), which users were just touched, and retries a 404 about such a user until
``consistency_seconds`` have passed since the change (``Consistency.patiently``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from accesshive.connectors.google_workspace._client import GoogleApiError
from accesshive.connectors.google_workspace._settings import GwsSettings


class Consistency:
    """Patience with users this process has just created or changed."""

    def __init__(self, settings: GwsSettings) -> None:
        self.settings = settings

    _touched: ClassVar[dict[tuple[str, str], float]] = {}
    """(source, user id) → when a connector last created or changed that user (monotonic);
    shared by every instance, since apply may verify on another pooled connector."""
    _touched_lock: ClassVar[threading.Lock] = threading.Lock()

    def touch(self, external_id: str) -> None:
        now = time.monotonic()
        with self._touched_lock:
            stale = [
                k for k, t in self._touched.items() if now - t > self.settings.consistency_seconds
            ]
            for k in stale:
                del self._touched[k]
            self._touched[(self.settings.source_id, external_id)] = now

    def forget(self, external_id: str) -> None:
        with self._touched_lock:
            self._touched.pop((self.settings.source_id, external_id), None)

    def _settle_deadline(self, external_id: str) -> float | None:
        """Until when a 404 for this user may be the API catching up with our own change."""
        with self._touched_lock:
            touched = self._touched.get((self.settings.source_id, external_id))
        if touched is None:
            return None
        deadline = touched + self.settings.consistency_seconds
        return deadline if deadline > time.monotonic() else None

    def patiently(
        self, external_id: str, call: Callable[[], Any], about_user: Callable[[str], bool] = bool
    ) -> Any:
        """``call()``; a 404 right after we created or changed the user is retried until
        ``consistency_seconds`` have passed since that change, then raised.
        ``about_user(message)`` tells a 404 for the user from one for something else."""
        deadline: float | None = None
        pause = 0.1
        while True:
            try:
                return call()
            except GoogleApiError as exc:
                if exc.status != 404 or not about_user(exc.message):
                    raise
                if deadline is None:
                    deadline = self._settle_deadline(external_id)
                if deadline is None or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 1.5, 0.5)
