"""CLI start-up: how long `accesshive --version` takes, and how long each command takes to
reach its first real work, beside a bare `python -c pass` (the interpreter's own
start-up, which no CLI beats).

"First real work" is measured three ways, each run checked for what it printed so that a
command that broke (or printed nothing) cannot pass by being fast:
- `accesshive plan|status|validate examples/quickstart`, stopped as the command's body
  is entered (a probe replaces click's ``Command.invoke`` of the leaf command by an
  exit): the console start-up, the command module's import and the parsing of its
  options, which every run of the command pays before it does anything;
- `accesshive COMMAND --help` for every command, and `accesshive --help`;
- `accesshive validate|plan EMPTY_DIR`: a real run that enters the command body and fails
  on a directory without accesshive.yaml, with the loader's own error and exit code 1.

Targets (issue: fast at every size): `--version` within 150 ms; every command ready
within 250 ms. Medians of 20 runs (`--runs`), on this machine, as it is loaded: the
verdict is on wall time; the CPU time (user + system) of the same runs is printed beside
it, since on a shared, loaded machine the wall time mostly measures the others.

The package is byte-compiled first: an installed accesshive has its ``.pyc`` files, and a
checkout run with PYTHONDONTWRITEBYTECODE would otherwise compile every module it
imports on every run (tens of ms that no user pays).

`--baseline DIR` also times the same command lines with the ``accesshive`` package of
DIR first on the path (e.g. `git archive main accesshive | tar -x -C /tmp/main`), run
by run in turn with this tree, so that a change is measured before and after under
the same load.

    python -m tests.bench.startup_bench [--runs 20] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "accesshive"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "quickstart"
VERSION_TARGET = 0.150
READY_TARGET = 0.250

_READY_PROBE = """
import os, sys
import click

def _ready(self, ctx):
    if isinstance(self, click.Group):
        return _invoke(self, ctx)
    sys.stdout.write("READY " + ctx.command_path + "\\n")
    sys.stdout.flush()
    os._exit(0)

_invoke, click.Command.invoke = click.Command.invoke, _ready
sys.argv = ["accesshive", *sys.argv[1:]]
from accesshive.cli import main
main()
"""
"""``accesshive ARGS`` that exits as the command's body would start: click has parsed the
options, the command's module is imported, nothing of the command has run."""

Times = tuple[float, float]


def _once(argv: list[str], env: dict[str, str], expect: str, exit_code: int) -> Times:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    printed = done.stdout + done.stderr
    if done.returncode != exit_code or expect not in printed:
        raise SystemExit(
            f"{' '.join(argv)}: exit {done.returncode} (expected {exit_code}), "
            f"expected {expect!r} in:\n{printed}"
        )
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _medians(
    argv: list[str], runs: int, trees: dict[str, dict[str, str]], expect: str, exit_code: int
) -> dict[str, Times]:
    """The median wall and CPU times of ``argv`` under each tree's environment, the trees
    taking turns run by run; each run must exit ``exit_code`` and print ``expect`` (stdout
    or stderr), or the bench stops: a fast wrong answer is no answer."""
    samples: dict[str, list[Times]] = {name: [] for name in trees}
    for _ in range(runs):
        for name, env in trees.items():
            samples[name].append(_once(argv, env, expect, exit_code))
    return {
        name: (statistics.median(t[0] for t in s), statistics.median(t[1] for t in s))
        for name, s in samples.items()
    }


def _row(label: str, times: dict[str, Times], target: float | None = None) -> bool:
    """One line: each tree's median wall and CPU time; the verdict is this tree's."""
    wall, _ = times["this tree"]
    ok = target is None or wall <= target
    verdict = (
        "" if target is None else f"(target {target * 1000:.0f} ms) {'PASS' if ok else 'FAIL'}"
    )
    figures = "  ".join(
        f"{name}: {w * 1000:5.0f} ms {c * 1000:4.0f} ms CPU" for name, (w, c) in times.items()
    )
    print(f"{label:<44}{figures}  {verdict}", flush=True)
    return ok


def _trees(baseline: Path | None) -> dict[str, dict[str, str]]:
    """The environments to run in: this tree's, and the baseline's (its package first on
    the path) when given; both byte-compiled."""
    trees = {"this tree": dict(os.environ)}
    compileall.compile_dir(ROOT / "accesshive", quiet=1)
    if baseline is not None:
        if not (baseline / "accesshive" / "__init__.py").is_file():
            raise SystemExit(f"--baseline {baseline}: no accesshive/__init__.py there")
        compileall.compile_dir(baseline / "accesshive", quiet=1)
        trees = {"baseline": dict(os.environ, PYTHONPATH=str(baseline.resolve())), **trees}
    return trees


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR")
    args = parser.parse_args(argv)
    from accesshive.cli import COMMANDS

    trees = _trees(args.baseline)

    def measure(argv: list[str], expect: str = "", exit_code: int = 0) -> dict[str, Times]:
        return _medians(argv, args.runs, trees, expect, exit_code)

    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
        f"medians of {args.runs} runs, wall and CPU"
    )
    _row("python -c pass (interpreter start-up)", measure([sys.executable, "-c", "pass"]))
    version = measure([str(SCRIPT), "--version"], expect="accesshive, version")
    failed = not _row("accesshive --version", version, VERSION_TARGET)
    for name in ("plan", "status", "validate"):
        ready = measure(
            [sys.executable, "-c", _READY_PROBE, name, str(EXAMPLE)],
            expect=f"READY accesshive {name}",
        )
        failed |= not _row(f"accesshive {name} EXAMPLE (to its body)", ready, READY_TARGET)
    listed = measure([str(SCRIPT), "--help"], expect="Commands:")
    failed |= not _row("accesshive --help", listed, READY_TARGET)
    for name in sorted(COMMANDS):
        ready = measure([str(SCRIPT), name, "--help"], expect="Usage: accesshive")
        failed |= not _row(f"accesshive {name} --help", ready, READY_TARGET)
    with tempfile.TemporaryDirectory() as empty:
        for name in ("validate", "plan"):
            ran = measure([str(SCRIPT), name, empty], "has no accesshive.yaml", exit_code=1)
            failed |= not _row(f"accesshive {name} EMPTY_DIR (fails)", ran, READY_TARGET)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
