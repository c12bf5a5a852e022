"""Ratios against the issue's targets, printed as one table with PASS/FAIL (or SKIP with
the reason) and as JSON with the same figures.

Why one module: every bench that compares accesshive with a bare client reports the
same way, so that `nox -s bench` reads as one list of targets, each met or not.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Verdict:
    """One target: ``ratio`` = ``ours`` / ``theirs`` (``at_most``) or ``theirs`` / ``ours``
    (``at_least``, for "N× faster than"); ``skip`` says why it was not measured."""

    name: str
    ours_seconds: float | None
    theirs_seconds: float | None
    bound: Literal["at_most", "at_least"]
    target: float
    what: str = "wall"
    """``wall`` or ``cpu`` seconds, or ``memory`` (GiB, in the ``_seconds`` fields)."""
    skip: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.skip or not self.ours_seconds or not self.theirs_seconds:
            return None
        if self.bound == "at_most":
            return self.ours_seconds / self.theirs_seconds
        return self.theirs_seconds / self.ours_seconds

    @property
    def status(self) -> str:
        ratio = self.ratio
        if ratio is None:
            return "SKIP"
        ok = ratio <= self.target if self.bound == "at_most" else ratio >= self.target
        return "PASS" if ok else "FAIL"

    def as_json(self) -> dict[str, object]:
        ratio = self.ratio
        return {
            **asdict(self),
            "ratio": None if ratio is None else round(ratio, 3),
            "status": self.status,
        }


def skipped(name: str, bound: Literal["at_most", "at_least"], target: float, why: str) -> Verdict:
    return Verdict(name, None, None, bound, target, skip=why)


def table(verdicts: list[Verdict]) -> str:
    """The verdicts, one line each: what, both times, the ratio, the target, the status."""
    width = max([len(v.name) for v in verdicts] + [6]) + 2
    head = f"{'target':<{width}}{'accesshive':>12}{'baseline':>12}{'ratio':>9}  {'bound':<9}"
    lines = [head + "status"]
    for v in verdicts:
        sign = "<=" if v.bound == "at_most" else ">="
        unit = {"cpu": "s cpu", "memory": "GiB"}.get(v.what, "s")
        ours = f"{v.ours_seconds:.2f}{unit}" if v.ours_seconds is not None else "-"
        theirs = f"{v.theirs_seconds:.2f}{unit}" if v.theirs_seconds is not None else "-"
        ratio = f"{v.ratio:.2f}x" if v.ratio is not None else "-"
        status = v.status if v.skip is None else f"SKIP: {v.skip}"
        bound = f"{sign}{v.target:g}"
        lines.append(f"{v.name:<{width}}{ours:>12}{theirs:>12}{ratio:>9}  {bound:<9}{status}")
    return "\n".join(lines)


def report(verdicts: list[Verdict], fmt: str, json_out: Path | None, extra: object) -> int:
    """Print the table (or JSON), write the JSON file when asked; 1 when a target failed
    (`nox -s bench` accepts it: a slow ratio is a finding, not a crash)."""
    document = {"targets": [v.as_json() for v in verdicts], "figures": extra}
    if fmt == "json":
        print(json.dumps(document, indent=2), flush=True)
    else:
        print(table(verdicts), flush=True)
    if json_out is not None:
        json_out.write_text(json.dumps(document, indent=2) + "\n")
    return 1 if any(v.status == "FAIL" for v in verdicts) else 0
