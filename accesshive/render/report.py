"""The report as Markdown (an issue body) or one self-contained HTML file."""

from __future__ import annotations

import jinja2

from accesshive.render.describe import plural
from accesshive.render.markup import md, visible
from accesshive.reports.health import Report
from accesshive.terminal_text import shown

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
    finalize=visible,  # a right-to-left override cannot turn a row around
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


def render_report_text(report: Report, max_rows: int = 100) -> str:
    """The report for a terminal: the headline, the totals, then every section the
    Markdown report has (identities out of sync, managed groups, orphaned accounts,
    sensitive access, stale items), each value on one line with its control
    characters written out (``terminal_text.shown``: a target's text cannot move the
    cursor or forge a line)."""
    lines = [headline(report)]
    t = report.totals
    lines.append(
        ", ".join(
            f"{t.get(key, 0)} {key.replace('_', ' ')}"
            for key in ("healthy", "needs_provisioning", "error", "not_managed")
        )
        + f"; {plural(t.get('orphaned', 0), 'orphaned account')}, {t.get('drift', 0)} drift, "
        + f"{plural(t.get('stale', 0), 'stale item')}"
    )
    needing = [i for i in report.identities if i.health not in ("healthy", "not_managed")]
    if needing:
        lines += ["", f"Identities out of sync ({len(needing)}):"]
        for i in needing[:max_rows]:
            waits = f"  ({i.waiting()})" if i.waiting_on else ""
            lines.append(f"  {i.health:<20} {shown(i.identity)}{shown(waits)}")
            lines += [f"    {shown(d)}" for d in i.differences[:10]]
            lines += _more(len(i.differences) - 10, "difference", indent=4)
            lines += [f"    ✗ {shown(e)}" for e in i.errors[:5]]
            lines += _more(len(i.errors) - 5, "error", indent=4)
        lines += _more(len(needing) - max_rows, "identity", "identities")
    if report.groups:
        lines += ["", f"Managed groups out of sync ({len(report.groups)}):"]
        for g in report.groups[:max_rows]:
            lines.append(f"  {shown(g.source)}: {shown(g.entitlement)}")
            lines += [f"    {shown(d)}" for d in g.differences]
        lines += _more(len(report.groups) - max_rows, "managed group")
    if report.orphans:
        lines += ["", f"Orphaned accounts ({len(report.orphans)}): no identity owns them"]
        for o in report.orphans[:max_rows]:
            state = "enabled" if o.enabled else "disabled"
            seen = f", first seen {o.first_seen[:10]}" if o.first_seen else ""
            login = f", last login {o.last_login}" if o.last_login else ""
            lines.append(
                f"  ! {shown(o.source)}: {shown(o.name or o.account)} "
                f"({shown(o.account)}, {state}{shown(seen)}{shown(login)})"
            )
        lines += _more(len(report.orphans) - max_rows, "orphaned account")
    if report.sensitive_access:
        lines += ["", f"Sensitive access ({len(report.sensitive_access)}):"]
        for a in report.sensitive_access[:max_rows]:
            whose = (a.identity or "nobody") + (f", {a.account_kind}" if a.account_kind else "")
            state = "" if a.enabled else ", disabled"
            lines.append(
                f"  {shown(a.source)}: {shown(a.name or a.account)} ({shown(whose)}{state}): "
                + shown(", ".join(a.entitlements))
            )
        lines += _more(len(report.sensitive_access) - max_rows, "account")
    if report.stale:
        lines += ["", f"Stale items ({len(report.stale)}):"]
        for s in report.stale[:max_rows]:
            lines.append(
                f"  {s.kind.replace('_', ' ')} {shown(s.subject)}, {plural(s.age_days, 'day')} "
                f"old: {shown(s.detail)}"
            )
        lines += _more(len(report.stale) - max_rows, "stale item")
    return "\n".join(lines) + "\n"


def _more(n: int, one: str, many: str | None = None, indent: int = 2) -> list[str]:
    """The line for what a section leaves out (nothing when it leaves nothing out)."""
    if n <= 0:
        return []
    return [
        f"{' ' * indent}{plural(n, one, many)} more: `accesshive report --format json` lists them"
    ]
