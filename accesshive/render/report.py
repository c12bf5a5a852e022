"""The report as Markdown (an issue body) or one self-contained HTML file."""

from __future__ import annotations

import jinja2

from accesshive.render.describe import plural
from accesshive.render.markup import md
from accesshive.reports.health import Report

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("accesshive.render", "templates"),
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_HTML = jinja2.Environment(
    loader=jinja2.PackageLoader("accesshive.render", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _delta(n: int) -> str:
    return f"+{n}" if n > 0 else str(n) if n < 0 else "±0"


def headline(report: Report) -> str:
    """The one sentence a person reads first: how drift and orphans moved."""
    if report.previous is None:
        drift, orphaned = report.totals["drift"], report.totals["orphaned"]
        return (
            f"{plural(drift, 'difference')} and {plural(orphaned, 'orphaned account')} "
            "(first report)."
        )
    trend = report.trend()
    parts = []
    for key, word in (("drift", "drift"), ("orphaned", "orphans"), ("error", "errors")):
        change = trend.get(key, 0)
        if change:
            direction = "grew" if change > 0 else "shrank"
            parts.append(f"{word} {direction} by {abs(change)}")
    since = report.previous[0][:10]
    return (", ".join(parts) or "no change") + f" since the report of {since}."


_ENV.filters["e"] = md  # Markdown-escaped, on one line (the PR comment's escaping)


def render_report_markdown(report: Report, max_rows: int = 100) -> str:
    return _ENV.get_template("report.md.j2").render(
        r=report, trend=report.trend(), delta=_delta, headline=headline(report), max_rows=max_rows
    )


def render_report_html(report: Report) -> str:
    return _HTML.get_template("report.html.j2").render(
        r=report, trend=report.trend(), delta=_delta, headline=headline(report)
    )
