"""Renderers: a plan as text (terminal), Markdown (PR comment), JSON, Mermaid or DOT.

Each format is its own module; none of them computes anything the plan does not hold.
"""

from accesshive.render.graph import render_dot, render_mermaid
from accesshive.render.markdown import render_markdown
from accesshive.render.text import render_text

__all__ = ["render_dot", "render_markdown", "render_mermaid", "render_text"]
