"""CLI start-up: how long `accesshive --version` takes, and how long each command takes to
reach its first real work, beside a bare `python -c pass` (the interpreter's own
start-up, which no CLI beats).

"First real work" is measured two ways, each run checked for what it printed so that a
command that broke (or printed nothing) cannot pass by being fast:
- `accesshive COMMAND --help`: the command's module, its options and everything imported
  before its body runs (what every run of the command pays);
- `accesshive validate|plan EMPTY_DIR`: a real run that enters the command body and fails
  on a directory without accesshive.yaml, with the loader's own error and exit code 1.

Targets (issue: fast at every size): `--version` within 150 ms; every command ready
within 250 ms. Medians of several runs, on this machine, as it is loaded: the verdict is
on wall time; the CPU time (user + system) of the same runs is printed beside it, since
on a shared, loaded machine the wall time mostly measures the others.

    python -m tests.bench.startup_bench [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "accesshive"
VERSION_TARGET = 0.150
READY_TARGET = 0.250


def _median(
    argv: list[str], runs: int, expect: str = "", exit_code: int = 0
) -> tuple[float, float]:
    """The median wall and CPU times of ``argv``; each run must exit ``exit_code`` and print
    ``expect`` (stdout or stderr), or the bench stops: a fast wrong answer is no answer."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        printed = done.stdout + done.stderr
        if done.returncode != exit_code or expect not in printed:
            raise SystemExit(
                f"{' '.join(argv)}: exit {done.returncode} (expected {exit_code}), "
                f"expected {expect!r} in:\n{printed}"
            )
    return statistics.median(walls), statistics.median(cpus)


def _row(label: str, times: tuple[float, float], target: float | None = None) -> bool:
    wall, cpu = times
    ok = target is None or wall <= target
    verdict = (
        "" if target is None else f"(target {target * 1000:.0f} ms) {'PASS' if ok else 'FAIL'}"
    )
    print(f"{label:<40}{wall * 1000:7.0f} ms  {cpu * 1000:5.0f} ms CPU  {verdict}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    from accesshive.cli import COMMANDS

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    _row(
        "python -c pass (interpreter start-up)", _median([sys.executable, "-c", "pass"], args.runs)
    )
    version = _median([str(SCRIPT), "--version"], args.runs, expect="accesshive, version")
    failed = not _row("accesshive --version", version, VERSION_TARGET)
    for name in sorted(COMMANDS):
        ready = _median([str(SCRIPT), name, "--help"], args.runs, expect="Usage: accesshive")
        failed |= not _row(f"accesshive {name} --help", ready, READY_TARGET)
    with tempfile.TemporaryDirectory() as empty:
        for name in ("validate", "plan"):
            ran = _median(
                [str(SCRIPT), name, empty], args.runs, expect="has no accesshive.yaml", exit_code=1
            )
            failed |= not _row(f"accesshive {name} EMPTY_DIR (fails)", ran, READY_TARGET)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
