"""``accesshive console`` as a real process, and a real Chromium (Debian's) driven by
Playwright to use it the way a person does.

The console is started on 127.0.0.1 with ``--port 0``; its startup line gives the URL,
printed once the socket listens. Playwright never downloads a browser here: it launches
the system's Chromium by path.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.startup import STARTUP, started


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
    argv = [sys.executable, "-m", "accesshive", "console", *args]
    with started(argv, env, "console", cwd=cwd) as server:
        assert server.line.startswith("accesshive console at http://127.0.0.1:"), server.line
        yield server.line.rsplit(" at ", 1)[1].rstrip("/")
        server.process.send_signal(signal.SIGTERM)
        # uvicorn stops gracefully, then re-raises the signal so that its parent sees it
        exited = server.process.wait(timeout=STARTUP)
        assert exited in (0, -signal.SIGTERM), "".join(server.stderr)
