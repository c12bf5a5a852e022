"""Names cannot hide in any rendering: ``graph`` (Mermaid and DOT, pasted into pull
requests) keeps each label on its line with newlines and bidirectional controls shown
escaped, and the plan's text and Markdown show zero-width characters, so two names that
differ only by one of them never look alike. One character class for every rendering
(``terminal_text.UNSEEN``). The real quickstart, through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.render.markup import md
from accesshive.terminal_text import shown

TODAY = "2026-11-29"
CLICK = "  click o1 'javascript:alert(1)'"
GIVEN = f"Q\n{CLICK}"
FAMILY = "Ho\u2066pp\u202eer"
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
RAW = ("\u2066", "\u202e", *ZERO_WIDTH)


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _add(repo: Path, iid: str, given: str, family: str, email: str) -> None:
    attributes = {
        "given_name": given,
        "family_name": family,
        "email": email,
        "department": "Facilities",
        "employee_number": 1066,
    }
    people = repo / "identities" / "people.yaml"
    # JSON is YAML: the characters go in as escapes, read back as themselves
    people.write_text(
        people.read_text() + f"  {iid}:\n    type: human\n    access_profiles: [badge-office]\n"
        f"    attributes: {json.dumps(attributes)}\n"
    )


@pytest.fixture
def plan_file(synced_quickstart: Path) -> Path:
    repo = synced_quickstart
    _add(repo, "eve", GIVEN, FAMILY, "eve@quickstart.example")
    _add(repo, "ada.twin", "Ada", "Love\u200blace" + "".join(ZERO_WIDTH[1:]), "a2@q.example")
    out = repo.parent / "plan.json"
    made = _run("plan", str(repo), "--out", str(out), "--today", TODAY)
    assert made.exit_code == 0, made.output
    return out


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_graph_labels_stay_on_their_line(plan_file: Path, fmt: str) -> None:
    result = _run("graph", str(plan_file), "--format", fmt)
    assert result.exit_code == 0, result.output
    assert not [ln for ln in result.output.splitlines() if ln.lstrip().startswith("click")]
    for raw in RAW:
        assert raw not in result.output
    label = next(ln for ln in result.output.splitlines() if "create account Q" in ln)
    assert "Q\\n  click o1 'javascript:alert(1)' Ho\\u2066pp\\u202eer" in label.replace(
        "\\\\", "\\"
    )
    assert "Love\\u200blace\\u200c\\u200d\\u2060\\ufeff" in result.output.replace("\\\\", "\\")
    if fmt == "dot":  # a backslash is kept literal: DOT would read \n as a line break
        assert re.search(r"Q\\\\n  click", label)
        assert all(ln.count('"') % 2 == 0 for ln in result.output.splitlines())


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_plan_shows_zero_width_characters(plan_file: Path, fmt: str) -> None:
    result = _run("show", str(plan_file), "--format", fmt)
    assert result.exit_code == 0, result.output
    for raw in RAW:
        assert raw not in result.output
    if fmt == "text":
        assert "Ada Love\\u200blace\\u200c\\u200d\\u2060\\ufeff" in result.output
    else:
        assert "Ada Love\ufffdlace\ufffd\ufffd\ufffd\ufffd" in result.output


SHOWING_NOTHING = ("\u00ad", "\u034f", "\u115f", "\u1160", "\u17b4", "\u3164", "\uffa0")
"""The soft hyphen, combining grapheme joiner, Hangul fillers and Khmer inherent vowel:
no room, or a blank, in most fonts."""


def test_one_class_for_every_rendering() -> None:
    for char in (*RAW, *SHOWING_NOTHING, "\U000e0041"):
        assert shown(f"a{char}b") != f"a{char}b"
        assert char not in md(f"a{char}b")
    assert shown("a\u00adb") == "a\\xadb"
    assert shown("a\U000e0041b") == "a\\U000e0041b"  # a tag character: eight digits
