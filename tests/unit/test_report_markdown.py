"""The nightly report as an issue body (``report --format markdown``), parsed as
CommonMark with GitHub tables: each identity its own list item with its differences
nested, tables with exactly their rows, folded sections opened and closed on their own,
values from the configuration or targets unable to break or inject Markdown, and rows
left out counted in a sentence, never dropped silently."""

from __future__ import annotations

from accesshive.render.report import render_report_markdown
from accesshive.reports.health import IdentityHealth, OrphanAccount, Report, StaleItem
from tests.unit.test_plan_comment import assert_details_spaced, read, table_after

HOSTILE = "bob*x*_y_`z`<b>|&amp;\nnext"
FLAT = HOSTILE.replace("\n", "␤")
TOTALS = {
    "healthy": 1,
    "needs_provisioning": 2,
    "error": 1,
    "not_managed": 0,
    "orphaned": 2,
    "drift": 3,
    "stale": 1,
}


def report(identities: int = 2, orphans: int = 2) -> Report:
    people = [
        IdentityHealth("ada", "human", "active", "needs_provisioning", ("a|b missing", "c")),
        IdentityHealth(HOSTILE, "human", "active", "error", (), (f"failed: {HOSTILE}",)),
    ] + [
        IdentityHealth(f"p{n:03d}", "human", "active", "needs_provisioning", ("d",))
        for n in range(identities - 2)
    ]
    return Report(
        project="**proj**",
        environment="prod",
        date="2026-11-29",
        identities=[*people, IdentityHealth("ok", "human", "active", "healthy")],
        orphans=[
            OrphanAccount("wi|ki", f"o{n}", HOSTILE, True, "2026-11-01T00:00:00", None)
            for n in range(orphans)
        ],
        stale=[StaleItem("awaiting_approval", "1a2b`c", 9, "waiting <for> |review|")],
        totals=TOTALS,
    )


def test_report_markdown_is_well_formed_and_escaped() -> None:
    markdown = render_report_markdown(report())
    assert_details_spaced(markdown)
    comment = read(markdown)
    assert comment.blocks[0] == ("heading", "accesshive report — **proj** (prod), 2026-11-29")
    totals = comment.tables[0]
    assert [row[0] for row in totals.rows] == [
        "healthy",
        "needs provisioning",
        "error",
        "not managed",
        "orphaned",
        "drift",
        "stale",
    ]
    # each identity its own top-level item; its differences and errors nested in it
    assert comment.list_items == [
        ("a|b missing", []),
        ("c", []),
        ("ada (human, active): needs provisioning a|b missing c", []),
        (f"❌ failed: {FLAT}", []),
        (f"{FLAT} (human, active): error ❌ failed: {FLAT}", []),
    ]
    orphans = table_after(comment, "<details><summary>Orphaned accounts (2)")
    assert orphans.rows == [["wi|ki", FLAT, "enabled", "2026-11-01", ""]] * 2
    stale = table_after(comment, "<details><summary>Stale items (1)")
    assert stale.rows == [["awaiting approval", "1a2b`c", "9", "waiting <for> |review|"]]
    # folded sections: each <details> and </details> a block of its own
    htmls = [t for k, t in comment.blocks if k == "html"]
    assert [h.split("</summary>")[0] for h in htmls] == [
        "<details><summary>Identities out of sync (2)",
        "</details>\n",
        "<details><summary>Orphaned accounts (2)",
        "</details>\n",
        "<details><summary>Stale items (1)",
        "</details>\n",
    ]
    # nothing from the values became emphasis, code, HTML or a link
    inline = [c for t in comment.tokens for c in t.children or []]
    kinds = {c.type for c in inline}
    assert not kinds & {"em_open", "code_inline", "html_inline", "link_open"}, kinds
    assert sum(c.type == "strong_open" for c in inline) == 2  # the two identity names


def test_rows_left_out_are_counted() -> None:
    markdown = render_report_markdown(report(identities=5, orphans=4), max_rows=3)
    assert_details_spaced(markdown)
    comment = read(markdown)
    orphans = table_after(comment, "<details><summary>Orphaned accounts (4)")
    assert len(orphans.rows) == 3
    paragraphs = [t for k, t in comment.blocks if k == "paragraph"]
    assert (
        "1 more orphaned accounts are not listed here: accesshive report --format json lists them."
        in paragraphs
    )
    assert (
        "2 more identities out of sync are not listed here: accesshive report --format json "
        "lists them." in paragraphs
    )


def test_the_totals_compare_with_the_last_report_only_when_there_is_one() -> None:
    from dataclasses import replace

    first = read(render_report_markdown(report())).tables[0]
    assert first.header == ["", "now"]  # no "±0 since" a report that never was
    assert first.rows[0] == ["healthy", "1"]
    before = {**TOTALS, "drift": 1, "healthy": 2}
    later = replace(report(), previous=("2026-11-28T02:00:00", before))
    table = read(render_report_markdown(later)).tables[0]
    assert table.header == ["", "now", "since last report"]
    assert table.rows[0] == ["healthy", "1", "-1"]
    assert table.rows[5] == ["drift", "3", "+2"]


def test_no_bidirectional_control_reaches_the_issue_body_or_the_html() -> None:
    """A right-to-left override in a name would display the rest of a row backwards."""
    from dataclasses import replace

    from accesshive.render.report import render_report_html

    evil = "a\u202eevil\u2066x\u2028y"
    base = report()
    hostile = replace(
        base,
        identities=[IdentityHealth(evil, "human", "active", "needs_provisioning", (evil,))],
    )
    markdown = render_report_markdown(hostile)
    assert not any(c in markdown for c in "\u202e\u2066\u2028"), markdown
    assert "a�evil�x␤y" in markdown  # a line separator would end the list item
    html = render_report_html(hostile)  # where a line separator is only white space
    assert not any(c in html for c in "\u202e\u2066"), html
    assert "a�evil�x" in html
