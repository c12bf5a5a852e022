"""The order graph as Mermaid (renders in GitHub comments) or Graphviz DOT."""

from __future__ import annotations

from accesshive.plan.model import Plan
from accesshive.render.describe import summary_line


def _label(text: str) -> str:
    return text.replace('"', "'")


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
        lines.append(f'  "{o.id}" [label="{_label(summary_line(o))}"{style}];')
    for o in plan.orders:
        for dep in o.depends_on:
            lines.append(f'  "{dep}" -> "{o.id}";')
    lines.append("}")
    return "\n".join(lines) + "\n"
