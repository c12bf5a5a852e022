"""``accesshive console`` as a real process, and a real Chromium (Debian's) driven by
Playwright to use it the way a person does.

The console is started on 127.0.0.1 with ``--port 0``; its startup line gives the URL,
printed once the socket listens. Playwright never downloads a browser here: it launches
the system's Chromium by path.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

STARTUP = 120.0
"""Seconds the console gets to print its startup line: a safety net against a hung test on
a loaded machine, not an assertion about speed."""


def chromium() -> str:
    """Debian's Chromium; CI must have it (``.ci/run`` installs it)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("CI must drive the console in Chromium (.ci/run installs it)")
    pytest.skip("Chromium is not installed here")


@contextmanager
def console(repo: Path, *args: str) -> Iterator[str]:
    """Start ``accesshive console -C REPO --port 0 ARGS`` and yield its URL."""
    with console_command(["-C", str(repo), "--port", "0", *args]) as url:
        yield url


@contextmanager
def console_command(args: list[str], cwd: Path | None = None) -> Iterator[str]:
    """Start ``accesshive console ARGS`` (which must include ``--port 0``) in ``cwd`` and
    yield its URL."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "accesshive", "console", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout, process.stderr
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []

    def read_out() -> None:
        for line in out:
            lines.put(line)
        lines.put("")  # stdout ended: a console that exits before its startup line fails now

    readers = [
        threading.Thread(target=read_out, daemon=True),
        threading.Thread(target=lambda: errors.extend(err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        try:
            first = lines.get(timeout=STARTUP)
        except queue.Empty:
            raise AssertionError(f"no startup line; stderr: {''.join(errors)}") from None
        if not first:
            process.wait(timeout=STARTUP)  # the stderr reader ends with the process
            readers[1].join()
            raise AssertionError(f"the console exited: {''.join(errors)}")
        assert first.startswith("accesshive console at http://127.0.0.1:"), first
        yield first.strip().rsplit(" at ", 1)[1].rstrip("/")
        process.send_signal(signal.SIGTERM)
        # uvicorn stops gracefully, then re-raises the signal so that its parent sees it
        assert process.wait(timeout=STARTUP) in (0, -signal.SIGTERM), "".join(errors)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for reader in readers:
            reader.join()
        out.close()
        err.close()
