"""A helper server in a process of its own, for the benchmarks: a target server or the
latency proxy, each off the client's core (as a real one is)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def serving(*args: str) -> Iterator[str]:
    """Run ``python *args`` from the repository root until the block ends (then its stdin
    is closed, which tells it to stop); yields the first line it prints."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
