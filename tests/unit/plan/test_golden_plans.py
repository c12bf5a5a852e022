"""Golden plans: the exact plan (JSON and text) for the examples against hand-written snapshots.

Regenerate after an intended change with ``ACCESSHIVE_UPDATE_GOLDEN=1 pytest`` and
review the diff like any other code change.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from accesshive.operations import plan_repository
from accesshive.plan.planfile import dumps
from accesshive.render import render_markdown, render_text
from tests.conftest import EXAMPLES, FIXTURES

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
SNAPSHOTS = FIXTURES / "snapshots"
TODAY = dt.date(2026, 11, 29)

CASES = {
    "quickstart-empty": ("quickstart", None, TODAY),
    "quickstart-converged": ("quickstart", "quickstart-converged.yaml", TODAY),
    "quickstart-drifted": ("quickstart", "quickstart-drifted.yaml", TODAY),
    # a month later, the terminated identity's retention has passed: its account is deleted
    "quickstart-retention": ("quickstart", "quickstart-converged.yaml", dt.date(2026, 12, 25)),
    "acme-empty": ("acme", None, TODAY),
}


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ACCESSHIVE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with ACCESSHIVE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_plan(case: str) -> None:
    example, snapshot, today = CASES[case]
    plan = plan_repository(EXAMPLES / example, today, SNAPSHOTS / snapshot if snapshot else None)
    _check(f"{case}.json", dumps(plan))
    _check(f"{case}.txt", render_text(plan))
    _check(f"{case}.md", render_markdown(plan))
