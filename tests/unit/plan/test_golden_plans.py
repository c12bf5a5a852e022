"""Golden plans: the exact plan (JSON, text and Markdown) for the examples against
hand-written snapshots, compared byte for byte with ``tests/golden/<case>.{json,txt,md}``.

A golden file is the reviewed truth: a change to it is a change to what accesshive
plans, so it is made by a person, on purpose, and read before it is committed.

Regenerating them, after a change that is meant to change plans:

1. ``ACCESSHIVE_UPDATE_GOLDEN=1 pytest tests/unit/plan/test_golden_plans.py``
   (on your machine: it refuses to run where the ``CI`` environment variable is set,
   as ``.ci/run`` sets it). Each case whose output differs from its golden files
   rewrites them and FAILS, saying which files it regenerated: a run that rewrote a
   golden file can never pass, so nothing regenerated slips through unread. A case
   whose files already hold its output rewrites nothing and passes.
2. Review the change by eye, as any code change: ``git diff tests/golden``. Every
   changed line must be one the change was meant to make.
3. Run again without ``ACCESSHIVE_UPDATE_GOLDEN``: it must pass. Commit the golden
   files with the change that explains them.

A missing golden file (a new case) is written the same way, and fails the same way.
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
UPDATE = "ACCESSHIVE_UPDATE_GOLDEN"

CASES = {
    "quickstart-empty": ("quickstart", None, TODAY),
    "quickstart-converged": ("quickstart", "quickstart-converged.yaml", TODAY),
    "quickstart-drifted": ("quickstart", "quickstart-drifted.yaml", TODAY),
    # a month later, the terminated identity's retention has passed: its account is deleted
    "quickstart-retention": ("quickstart", "quickstart-converged.yaml", dt.date(2026, 12, 25)),
    "acme-empty": ("acme", None, TODAY),
}


def regenerating() -> bool:
    """Whether this run is to rewrite the golden files; never under CI."""
    if not os.environ.get(UPDATE):
        return False
    if os.environ.get("CI"):
        pytest.fail(
            f"{UPDATE} is set, but so is CI: golden files are never regenerated in CI. "
            f"Regenerate them on your machine, review the diff (git diff tests/golden) and "
            f"commit them; CI only compares.",
            pytrace=False,
        )
    return True


def rewrite(outputs: dict[str, str]) -> list[Path]:
    """Write each output whose golden file is missing or differs; the files written."""
    written = []
    for name, text in outputs.items():
        path = GOLDEN / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_plan(case: str) -> None:
    example, snapshot, today = CASES[case]
    plan = plan_repository(EXAMPLES / example, today, SNAPSHOTS / snapshot if snapshot else None)
    outputs = {
        f"{case}.json": dumps(plan),
        f"{case}.txt": render_text(plan),
        f"{case}.md": render_markdown(plan),
    }
    if regenerating():
        written = rewrite(outputs)
        if written:
            names = ", ".join(str(path.relative_to(GOLDEN.parent.parent)) for path in written)
            pytest.fail(
                f"regenerated {names}; review the diff by eye (git diff tests/golden) and "
                f"run again without {UPDATE}",
                pytrace=False,
            )
    for name, text in outputs.items():
        path = GOLDEN / name
        assert path.exists(), f"missing golden file {path}; see this module's docstring"
        assert text == path.read_text(encoding="utf-8"), (
            f"{name} is not what was planned; if the change is intended, regenerate it as "
            "this module's docstring says"
        )


# --------------------------------------------------------------------------- the procedure


@pytest.fixture
def scratch_golden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The golden directory swapped for a copy: these tests never touch the real one."""
    copy = tmp_path / "tests" / "golden"
    copy.mkdir(parents=True)
    for path in GOLDEN.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(f"{__name__}.GOLDEN", copy)
    assert copy == GOLDEN
    return copy


def test_regenerating_is_refused_under_ci(
    scratch_golden: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UPDATE, "1")
    monkeypatch.setenv("CI", "1")
    (scratch_golden / "acme-empty.txt").write_text("stale\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match="never regenerated in CI"):
        test_golden_plan("acme-empty")
    assert (scratch_golden / "acme-empty.txt").read_text(encoding="utf-8") == "stale\n"


def test_a_run_that_regenerates_fails_and_the_next_one_passes(
    scratch_golden: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(UPDATE, "1")
    real = (GOLDEN / "acme-empty.txt").read_bytes()
    (scratch_golden / "acme-empty.txt").write_text("stale\n", encoding="utf-8")
    (scratch_golden / "acme-empty.md").unlink()
    with pytest.raises(pytest.fail.Exception) as failed:
        test_golden_plan("acme-empty")
    assert str(failed.value) == (
        "regenerated tests/golden/acme-empty.txt, tests/golden/acme-empty.md; review the "
        f"diff by eye (git diff tests/golden) and run again without {UPDATE}"
    )
    assert (scratch_golden / "acme-empty.txt").read_bytes() == real
    test_golden_plan("acme-empty")  # nothing left to rewrite: passes, even with UPDATE set
    monkeypatch.delenv(UPDATE)
    test_golden_plan("acme-empty")


def test_without_regenerating_a_stale_golden_file_fails_and_is_left_alone(
    scratch_golden: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UPDATE, raising=False)
    (scratch_golden / "acme-empty.txt").write_text("stale\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"acme-empty\.txt is not what was planned"):
        test_golden_plan("acme-empty")
    assert (scratch_golden / "acme-empty.txt").read_text(encoding="utf-8") == "stale\n"
