"""What the tests (and the benchmark) of ``apply --workers`` share: the command lines of
``accesshive worker`` and ``accesshive apply --workers``, a worker process whose printed
order states are read as they come, the gate put in front of a SCIM server to hold its
writes, waiting by counting, and the untimed sync and plan before an apply.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def worker_argv(root: Path, store: str, *options: str) -> list[str]:
    """``accesshive worker -C ROOT --store STORE OPTIONS``, run by this Python."""
    return [
        sys.executable,
        "-m",
        "accesshive",
        "worker",
        "-C",
        str(root),
        "--store",
        store,
        *options,
    ]


def apply_workers_argv(plan_file: Path, root: Path, store: str, *options: str) -> list[str]:
    """``accesshive apply PLAN -C ROOT --store STORE --workers OPTIONS --format json``."""
    return [
        *(sys.executable, "-m", "accesshive", "apply", str(plan_file), "-C", str(root)),
        *("--store", store, "--workers", *options, "--format", "json"),
    ]


def planned(root: Path, store: list[str]) -> Path:
    """``accesshive sync`` then ``plan --out`` (``store``: the store options, if any): the
    plan file, at ``root / "plan.json"``."""
    from click.testing import CliRunner

    from accesshive.cli import main

    runner = CliRunner()
    synced = runner.invoke(main, ["sync", str(root), *store])
    assert synced.exit_code == 0, synced.output
    out = root / "plan.json"
    done = runner.invoke(main, ["plan", str(root), *store, "--out", str(out)])
    assert done.exit_code in (0, 2), done.output
    return out


class Gate:
    """WSGI middleware in front of the SCIM server: lets ``after`` writes through, then
    holds every write until ``opened`` is set. Counts the accounts created (201 answers
    to ``POST /Users``) and the most requests it ever had under way at once."""

    def __init__(self, app: Callable[..., Iterable[bytes]], after: int) -> None:
        self.app = app
        self.after = after
        self.opened = threading.Event()
        self.lock = threading.Lock()
        self.writes = self.held = self.created = self.busy = self.most = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        with self.lock:
            self.busy += 1
            self.most = max(self.most, self.busy)
            if method != "GET":
                self.writes += 1
                hold = self.writes > self.after
                self.held += hold
        try:
            if method != "GET" and hold:
                self.opened.wait(60)
            status: list[str] = []

            def started(code: str, headers: Any, exc_info: Any = None) -> Any:
                status.append(code)
                return start_response(code, headers, exc_info)

            body = list(self.app(environ, started))
            if method == "POST" and environ["PATH_INFO"].endswith("/Users"):
                with self.lock:
                    self.created += status[0].startswith("201")
            return body
        finally:
            with self.lock:
                self.busy -= 1


class Worker:
    """An ``accesshive worker`` process, its printed order states read as they come."""

    def __init__(self, root: Path, store: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            worker_argv(
                root, store, "--heartbeat", "0.5", "--concurrency", "2", "--format", "json"
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.states: dict[str, str] = {}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            self.states[event["order"]] = event["state"]

    def transmitted(self) -> bool:
        return "transmitted" in list(self.states.values())

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


def until(condition: Callable[[], bool], what: str, procs: list[subprocess.Popen[str]]) -> None:
    """Wait for ``condition`` (a count reached), failing early if a process died."""
    deadline = time.monotonic() + 300  # a loaded machine starts four processes slowly
    while not condition():
        for proc in procs:
            assert proc.poll() is None, f"{proc.args[3]} exited {proc.returncode} before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)
