"""The report for a terminal (``report --format text``): every section the Markdown
report has, each value on one line whatever a target put in it, and rows left out
counted, never dropped silently."""

from __future__ import annotations

from accesshive.render.report import render_report_text
from accesshive.reports.health import IdentityHealth, OrphanAccount, Report, StaleItem
from tests.unit.test_report_markdown import TOTALS

ESCAPE = "mallory\x1b[2J\x1b]0;owned\x07\nnext line"


def _report(orphans: int) -> Report:
    return Report(
        project="proj",
        environment="prod",
        date="2026-11-29",
        identities=[
            IdentityHealth("ada", "human", "active", "needs_provisioning", ("update ada",)),
            IdentityHealth("ok", "human", "active", "healthy"),
        ],
        orphans=[
            OrphanAccount("wiki", f"o{n}", ESCAPE, True, "2026-11-01T00:00:00", None)
            for n in range(orphans)
        ],
        stale=[StaleItem("manual_task", "T-1", 9, "badges: create account")],
        totals=TOTALS,
    )


def test_every_section_one_line_per_row_and_no_terminal_control() -> None:
    text = render_report_text(_report(orphans=2))
    assert "\x1b" not in text and "\x07" not in text
    lines = text.splitlines()
    assert lines.index("Orphaned accounts (2): no identity owns them") + 2 < len(lines)
    orphan_lines = [li for li in lines if li.startswith("  ! wiki: ")]
    assert len(orphan_lines) == 2 and all("\\nnext line (o" in li for li in orphan_lines)
    assert "  manual task T-1, 9 days old: badges: create account" in lines
    assert "    update ada" in lines
    assert not any(li.split()[-1] == "ok" for li in lines if li.strip())  # healthy: not listed


def test_rows_left_out_are_counted() -> None:
    text = render_report_text(_report(orphans=5), max_rows=3)
    assert text.count("  ! wiki: ") == 3
    assert "  2 orphaned accounts more: `accesshive report --format json` lists them" in text
