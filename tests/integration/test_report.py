"""The nightly report on the quickstart with constructed drift, orphans and a failure."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.operations import StoreRef, apply_plan, plan_repository
from tests.conftest import EXAMPLES

TODAY = "2026-11-29"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    runner = CliRunner()
    assert runner.invoke(main, ["sync", str(dest)]).exit_code == 0
    db = sqlite3.connect(dest / ".accesshive" / "wiki-app.db")
    # the wiki refuses any group for grace: her grants fail on apply
    db.execute(
        "CREATE TRIGGER no_groups_for_grace BEFORE INSERT ON user_groups "
        "WHEN (SELECT login FROM users WHERE id = NEW.user_id) = 'grace.hopper' "
        "BEGIN SELECT RAISE(ABORT, 'group quota exceeded for this user'); END"
    )
    db.commit()
    today = dt.date.fromisoformat(TODAY)
    plan = plan_repository(dest, today, store=StoreRef())
    apply_plan(dest, plan, StoreRef(), today, "ci")
    # then, out of band: ada's name edited, and an account nobody owns
    db.execute("UPDATE users SET full_name = 'Ada King' WHERE login = 'ada.lovelace'")
    db.execute("INSERT INTO users (login, email, active) VALUES ('mallory', 'm@evil.example', 1)")
    db.commit()
    return dest


def _report(repo: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["report", str(repo), "--today", TODAY, *args])


def test_health_per_identity(repo: Path) -> None:
    result = _report(repo, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    health = {i["identity"]: i["health"] for i in report["identities"]}
    assert health == {
        "ada.lovelace": "needs_provisioning",
        "alan.turing": "healthy",
        "grace.hopper": "error",
        "linus.pauling": "healthy",
        "zoe.noether": "healthy",
    }
    ada = next(i for i in report["identities"] if i["identity"] == "ada.lovelace")
    assert ada["differences"] == [
        'update ada.lovelace on wiki: full_name: "Ada King" → "Ada Lovelace"'
    ]
    grace = next(i for i in report["identities"] if i["identity"] == "grace.hopper")
    assert any("group quota exceeded for this user" in e for e in grace["errors"])
    orphans = {(o["source"], o["name"]) for o in report["orphans"]}
    assert orphans == {("wiki", "mallory"), ("badges", "Mallory Visitor")}
    badge = next(o for o in report["orphans"] if o["source"] == "badges")
    assert badge["last_login"] == "2026-06-02"
    assert badge["first_seen"].startswith("20")
    assert report["totals"]["orphaned"] == 2


def test_trend_against_the_previous_report(repo: Path) -> None:
    _report(repo, "--format", "json")
    db = sqlite3.connect(repo / ".accesshive" / "wiki-app.db")
    db.execute("INSERT INTO users (login, email, active) VALUES ('eve', 'e@evil.example', 1)")
    db.commit()
    second = json.loads(_report(repo, "--format", "json").stdout)
    assert second["trend"]["orphaned"] == 1
    # re-rendered from the same snapshot: still compared with the earlier snapshot's report
    markdown = _report(repo, "--no-sync").stdout
    assert "| orphaned | 3 | +1 |" in markdown
    third = _report(repo, "--no-sync", "--format", "text").stdout
    assert third.startswith("orphans grew by 1 since the report of")


def test_fail_on(repo: Path) -> None:
    assert _report(repo, "--no-sync", "--fail-on", "orphans").exit_code == 7
    assert _report(repo, "--no-sync", "--fail-on", "errors").exit_code == 7


def test_markdown_fits_an_issue(repo: Path) -> None:
    text = _report(repo).stdout
    assert text.startswith("### accesshive report — quickstart (default), 2026-11-29")
    assert "<details><summary>Orphaned accounts (2)</summary>" in text
    assert "| wiki | mallory | enabled |" in text


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _dom(page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran, as headless Chromium renders it."""
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must render the HTML report in Chromium")
        pytest.skip("Chromium is not installed here")
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    ).stdout


def test_html_report_is_one_file_and_renders(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert _report(repo, "--format", "html", "--out", str(out)).exit_code == 0
    html = out.read_text()
    assert (
        "<script src" not in html and "<link" not in html and "http" not in html.split("<body>")[0]
    )
    dom = _dom(out, tmp_path / "profile")
    assert 'data-rendered="yes"' in dom  # the inline script ran
    assert dom.count("</tr>") >= 3 + 5 + 2  # headers, identities, orphans
    assert "grace.hopper" in dom and "group quota exceeded" in dom
    assert "Stale items" not in dom  # nothing stale: no empty table, as in text and Markdown


# Clicks the orphans table's "source" header twice, noting the table's sources after each.
CLICK_ORPHANS = """<script>
var orphans = document.getElementById("orphans");
function sources() {
  return Array.prototype.map.call(orphans.tBodies[0].rows, function (r) {
    return r.cells[0].textContent; }).join(",");
}
var header = orphans.tHead.rows[0].cells[0], seen = [];
try { header.click(); seen.push(sources()); header.click(); seen.push(sources()); }
catch (e) { seen.push("error: " + e); }
document.body.setAttribute("data-sorted", seen.join("|"));
</script>
</body>"""


def test_html_report_sorts_a_table_below_the_first(repo: Path, tmp_path: Path) -> None:
    """A click on a header of a table below the first sorts that table by that column:
    ascending, then descending on a second click."""
    out = tmp_path / "report.html"
    assert _report(repo, "--format", "html", "--out", str(out)).exit_code == 0
    clicked = tmp_path / "clicked.html"
    clicked.write_text(out.read_text().replace("</body>", CLICK_ORPHANS))
    dom = _dom(clicked, tmp_path / "profile")
    sorted_ = re.search(r'<body[^>]* data-sorted="([^"]*)"', dom)
    assert sorted_ is not None, dom
    assert sorted_.group(1) == "badges,wiki|wiki,badges"


def test_text_lists_what_fail_on_found(repo: Path) -> None:
    """A text report whose exit says it found orphans shows them, and every section the
    Markdown report has, one line each."""
    result = _report(repo, "--fail-on", "drift", "--fail-on", "orphans", "--format", "text")
    assert result.exit_code == 7
    assert "report found drift, orphans" in result.stderr
    text = result.stdout
    assert "Orphaned accounts (2): no identity owns them" in text
    assert "  ! wiki: mallory (" in text and ", enabled, first seen 20" in text
    assert "  ! badges: Mallory Visitor (" in text and "last login 2026-06-02" in text
    assert 'update ada.lovelace on wiki: full_name: "Ada King" → "Ada Lovelace"' in text
    assert "group quota exceeded for this user" in text  # grace's error, not only her health
    assert "Sensitive access (" in text


def test_text_lists_stale_items(repo: Path) -> None:
    """Tasks and approvals waiting past --stale-days are listed in text as in Markdown."""
    markdown = _report(repo, "--no-sync", "--stale-days", "0", "--today", "2026-12-31").stdout
    assert "<details><summary>Stale items (" in markdown
    text = _report(
        repo, "--no-sync", "--stale-days", "0", "--today", "2026-12-31", "--format", "text"
    ).stdout
    assert "Stale items (" in text
    assert "days old:" in text
