"""The plan as Markdown for a pull-request comment (jinja2 template ``plan.md.j2``).

Made to stay readable for thousands of orders: counts first, gated orders in a
table, per-identity details folded away and cut with a count.
"""

from __future__ import annotations

import jinja2

from accesshive.plan.model import Plan
from accesshive.render.describe import gate_text, marker, summary_line
from accesshive.render.text import groups

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("accesshive.render", "templates"),
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _escape(text: str) -> str:
    """Escape what would break a Markdown table cell or inject HTML."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
    )


_ENV.filters["e"] = _escape


def render_markdown(
    plan: Plan, max_gated: int = 50, max_groups: int = 100, max_rows: int = 50
) -> str:
    return _ENV.get_template("plan.md.j2").render(
        plan=plan,
        s=plan.summary(),
        gated=[o for o in plan.orders if o.gate],
        groups=groups(plan),
        line=summary_line,
        marker=marker,
        gate=gate_text,
        max_gated=max_gated,
        max_groups=max_groups,
        max_rows=max_rows,
        max_per_group=20,
    )
