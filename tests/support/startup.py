"""An accesshive server started as a real process (``console``, ``scim serve``) and waited
for until it prints its startup line: the one way the tests read that line, with both
pipes drained by threads so that neither can fill up and stall the server.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

STARTUP = 120.0
"""Seconds a server gets to print its startup line: a safety net against a hung test on
a loaded machine, not an assertion about speed."""


@dataclass
class Started:
    process: subprocess.Popen[str]
    line: str
    """Its startup line (the first it printed), without the newline."""
    stderr: list[str] = field(default_factory=list)
    """What it has written to stderr so far (filled while it runs)."""


@contextmanager
def started(
    argv: list[str], env: dict[str, str], name: str, cwd: Path | None = None
) -> Iterator[Started]:
    """Run ``argv`` and yield it once it has printed its startup line. No line within
    ``STARTUP`` seconds, or the process (called ``name`` in the failure) exiting first,
    fails the test with what it wrote to stderr. Killed, if still running, when the
    block ends."""
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd
    )
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout, process.stderr
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []

    def read_out() -> None:
        for line in out:
            lines.put(line)
        lines.put("")  # stdout ended: a server that exits before its startup line fails now

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
            raise AssertionError(f"the {name} exited: {''.join(errors)}")
        yield Started(process, first.strip(), errors)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for reader in readers:
            reader.join()
        out.close()
        err.close()
