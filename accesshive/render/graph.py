"""The order graph as Mermaid (renders in GitHub comments) or Graphviz DOT.

Labels hold names from the configuration and the targets, and the graph is pasted into
pull requests: each label stays one line of the graph (a newline in a name would end it,
and what follows would be read as Mermaid: ``click o1 'javascript:...'``), within its
quotes, with bidirectional controls and zero-width characters shown escaped as text
output shows them (``terminal_text.shown``: one character class for every rendering).
"""

from __future__ import annotations

from accesshive.plan.model import Plan
from accesshive.render.describe import summary_line
from accesshive.terminal_text import shown


def _label(text: str) -> str:
    """A Mermaid label: one line, no double quote (Mermaid has no escape for it)."""
    return shown(text).replace('"', "'")


def _dot_label(text: str) -> str:
    """A DOT label: one line, a backslash kept literal (DOT reads ``\\n``, ``\\l`` as
    line breaks), no double quote."""
    return shown(text).replace("\\", "\\\\").replace('"', "'")


def render_mermaid(plan: Plan) -> str:
    lines = ["flowchart TD"]
    for o in plan.orders:
        shape = ("{{", "}}") if o.gate else ("[", "]")
        lines.append(f'  o{o.id}{shape[0]}"{_label(summary_line(o))}"{shape[1]}')
    for o in plan.orders:
        for dep in o.depends_on:
            lines.append(f"  o{dep} --> o{o.id}")
    return "\n".join(lines) + "\n"


def render_dot(plan: Plan) -> str:
    lines = ["digraph plan {", "  rankdir=LR;", "  node [shape=box];"]
    for o in plan.orders:
        style = ' style=filled fillcolor="#ffe9a8"' if o.gate else ""
        lines.append(f'  "{o.id}" [label="{_dot_label(summary_line(o))}"{style}];')
    for o in plan.orders:
        for dep in o.depends_on:
            lines.append(f'  "{dep}" -> "{o.id}";')
    lines.append("}")
    return "\n".join(lines) + "\n"
