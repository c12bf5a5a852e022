"""A reader that goes away: ``accesshive apply ... | head -1``.

Well-behaved Unix tools stop writing when the pipe they write to is closed, say nothing
about it, and end as if killed by SIGPIPE: exit status 141 (128 + 13), which a shell with
``set -o pipefail`` sees. Python ignores SIGPIPE, so a write raises ``BrokenPipeError``
instead; left alone, that would be printed as "Error: Broken pipe" (on stderr, which may
be the same pipe) or abort a command half-way.

Why streams and not an ``except BrokenPipeError`` around the command: a closed stdout must
not stop an apply that is running. Its orders keep being sent, verified and recorded;
only the writing stops. ``QuietStream`` wraps ``sys.stdout`` and ``sys.stderr`` for the
whole command: the first write that finds the reader gone points the file descriptor at
``/dev/null`` (so nothing buffered fails again at exit) and every later write is dropped;
the command runs to its end, and its exit status becomes ``EXIT_PIPE``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, TextIO

EXIT_PIPE = 141
"""What a shell reports for a process killed by SIGPIPE (128 + 13): the output was cut
short because its reader went away. What the command did is recorded as usual."""


class QuietStream:
    """``stream``, but a write to a closed pipe is dropped (and remembered), not raised.

    Everything else (``isatty``, ``encoding``, ``fileno`` ...) is the stream's own, so
    click and the progress bar see the terminal or pipe they would have seen."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._went()
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._went()

    def _went(self) -> None:
        """The reader is gone: write nothing more, and let what the stream still buffers
        go to /dev/null rather than fail again when the interpreter exits."""
        self.gone = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def quiet_pipes(stdout: Any, stderr: Any) -> Iterator[tuple[QuietStream, QuietStream]]:
    """``sys.stdout`` and ``sys.stderr`` as ``QuietStream``s for the ``with`` block."""
    import sys

    out, err = QuietStream(stdout), QuietStream(stderr)
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        if sys.stdout is out:
            sys.stdout = stdout
        if sys.stderr is err:
            sys.stderr = stderr
