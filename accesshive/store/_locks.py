"""The per-environment lock: one apply at a time. The backend takes and releases it
(``_acquire``, ``_release``: a ``BEGIN IMMEDIATE`` row in SQLite, an advisory lock in
PostgreSQL); this module owns the lock row, its description, and breaking a stale one."""

from __future__ import annotations

import os
import socket
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager

from accesshive.errors import LockedError
from accesshive.store._audit import AuditLog
from accesshive.store._values import LockInfo, now


class Locks(AuditLog):
    """The environment lock; breaking it is audited."""

    @abstractmethod
    def _acquire(self, info: LockInfo) -> None:
        """Take the environment lock or raise ``LockedError``."""

    @abstractmethod
    def _release(self) -> None: ...

    @contextmanager
    def lock(self, holder: str, purpose: str = "apply") -> Iterator[LockInfo]:
        """Hold the environment's lock for the duration; released on exit, even on error."""
        info = LockInfo(self.environment, holder, os.getpid(), socket.gethostname(), now(), purpose)
        self._acquire(info)
        try:
            yield info
        finally:
            self._release()

    def lock_info(self) -> LockInfo | None:
        rows = self._execute(
            "SELECT environment, holder, pid, host, since, purpose FROM locks "
            "WHERE environment = ?",
            (self.environment,),
        )
        return LockInfo(*rows[0]) if rows else None

    def break_lock(self, by: str) -> LockInfo | None:
        """Remove a lock left by a crashed run; recorded in the audit log. Refused
        (``LockedError``, naming the holder) while its holder runs on this host."""
        info = self.lock_info()
        if info is None:
            return None
        if holder_alive_here(info):
            raise LockedError(
                f"environment '{self.environment}' is {info.describe()}, and that process "
                "is still running on this host: the lock is not broken (stop that run first)"
            )
        with self.transaction():
            self._execute("DELETE FROM locks WHERE environment = ?", (self.environment,))
        self.audit(by, "lock_broken", self.environment, {"lock": info.__dict__})
        return info

    def _take_over(self, stale: LockInfo, info: LockInfo) -> None:
        """Replace the lock of a holder that died on this host by ours, audited with the
        old holder named (inside the caller's transaction)."""
        self._execute("DELETE FROM locks WHERE environment = ?", (self.environment,))
        self._insert_lock(info)
        self.audit(
            info.holder,
            "lock_taken_over",
            self.environment,
            {"old": stale.__dict__, "new": info.__dict__},
        )

    def _insert_lock(self, info: LockInfo) -> None:
        self._execute(
            "INSERT INTO locks (environment, holder, pid, host, since, purpose) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (info.environment, info.holder, info.pid, info.host, info.since, info.purpose),
        )

    def _delete_lock(self, info: LockInfo) -> None:
        """Remove our own lock row (never another holder's)."""
        with self.transaction():
            self._execute(
                "DELETE FROM locks WHERE environment = ? AND pid = ? AND since = ?",
                (info.environment, info.pid, info.since),
            )

    def _locked(self, existing: LockInfo) -> LockedError:
        hint = ""
        if existing.host == socket.gethostname() and not _alive(existing.pid):
            hint = (
                f"; process {existing.pid} is no longer running: if no apply is in progress, "
                "`accesshive state unlock --force` releases it"
            )
        return LockedError(f"environment '{self.environment}' is {existing.describe()}{hint}")


def dead_here(info: LockInfo) -> bool:
    """Whether the lock's holder was a process on this host that no longer runs."""
    return info.host == socket.gethostname() and not _alive(info.pid)


def holder_alive_here(info: LockInfo) -> bool:
    return info.host == socket.gethostname() and _alive(info.pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
