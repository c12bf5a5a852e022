"""CLI start-up: how long `accesshive --version` takes, and how long each command takes to
be ready to work (`accesshive COMMAND --help`: its module and everything it imports),
beside a bare `python -c pass` (the interpreter's own start-up, which no CLI beats).

Targets (issue: fast at every size): `--version` within 150 ms; every command ready
within 250 ms. Medians of several runs, on this machine, as it is loaded.

    python -m tests.bench.startup_bench [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "accesshive"
VERSION_TARGET = 0.150
READY_TARGET = 0.250


def _median(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    from accesshive.cli import COMMANDS

    bare = _median([sys.executable, "-c", "pass"], args.runs)
    version = _median([str(SCRIPT), "--version"], args.runs)
    print(f"python -c pass (interpreter start-up)   {bare * 1000:7.0f} ms")
    verdict = "PASS" if version <= VERSION_TARGET else "FAIL"
    print(
        f"accesshive --version                    {version * 1000:7.0f} ms  "
        f"(target {VERSION_TARGET * 1000:.0f} ms) {verdict}"
    )
    failed = version > VERSION_TARGET
    for name in sorted(COMMANDS):
        ready = _median([str(SCRIPT), name, "--help"], args.runs)
        ok = ready <= READY_TARGET
        failed |= not ok
        print(
            f"accesshive {name + ' --help':<29}{ready * 1000:7.0f} ms  "
            f"(target {READY_TARGET * 1000:.0f} ms) {'PASS' if ok else 'FAIL'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
