"""The rewriting of a parsed template that puts the sandbox's limits where jinja's own
code would not check them: each ``{% for %}`` iterates through ``steps`` (the clock),
each ``~`` joins through ``concat`` (sizes first), each list, tuple or dict literal is
measured (``limits.sized``), and a template with loops, macros, blocks or many ``{{ }}``
counts what each one writes (``written``).

Why a module of its own: it is the one part of the sandbox that works on the template,
not on values; ``Sandbox.bound`` (``expand/sandbox.py``) applies it once per template,
when it is compiled, and registers these functions as the filters it calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import nodes
from jinja2.runtime import Context, markup_join, str_join
from jinja2.utils import pass_context, pass_eval_context
from jinja2.visitor import NodeTransformer

from accesshive.expand import limits
from accesshive.expand.limits import in_time, over_limit, too_long, weight
from accesshive.expand.plain_values import plain


@pass_context
def steps(context: Context, iterable: Any) -> Iterator[Any]:
    """What a ``{% for %}`` iterates over, checking the clock at each item."""
    for item in iterable:
        in_time(context)
        yield item


@pass_eval_context
def concat(eval_ctx: Any, parts: tuple[Any, ...]) -> str:
    """``a ~ b ~ c``, measured before it is joined, of plain data only
    (``expand/plain_values.py``: ``a.upper ~ b`` would join the method's address)."""
    size = 0
    for part in parts:
        size += len(part) if type(part) is str else weight(plain(part))
    if size > limits.MAX_LENGTH:
        raise too_long(size)
    joined: str = markup_join(parts) if eval_ctx.autoescape else str_join(parts)
    return joined


@pass_context
def written(context: Context, value: Any) -> Any:
    """What a ``{{ }}`` (or text) of a template with loops, macros or blocks writes, counted
    against the render's budget: a loop would write its body, a block's or macro's text
    would be joined, before anything else could measure it."""
    size = len(value) if isinstance(value, str) else weight(value)
    context.written += size  # type: ignore[attr-defined]
    if context.written > limits.MAX_LENGTH:  # type: ignore[attr-defined]
        raise over_limit(f"writes more than {limits.MAX_LENGTH:,} characters, the limit")
    return value


REPEATS = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.AssignBlock)
FEW_WRITES = 16
"""A template without repeats that writes this many ``{{ }}`` and texts or fewer is
measured once, when it is done (it makes at most that many times the limit); others
count what they write as they write it."""


class Bound(NodeTransformer):
    """The rewriting of a parsed template described in the module docstring."""

    def __init__(self, count_output: bool) -> None:
        self.count_output = count_output

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _filter(node.iter, "_steps")
        if node.recursive:  # loop(children) iterates again, over what it is given
            for call in node.find_all(nodes.Call):
                if isinstance(call.node, nodes.Name) and call.node.name == "loop" and call.args:
                    first = call.args[0]
                    if not (isinstance(first, nodes.Filter) and first.name == "_steps"):
                        call.args[0] = _filter(first, "_steps")
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filter(nodes.Tuple(node.nodes, "load"), "_concat", node.lineno)

    def visit_List(self, node: nodes.List) -> nodes.Node:
        self.generic_visit(node)
        return _filter(node, "_sized")

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        self.generic_visit(node)
        return _filter(node, "_sized")

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return _filter(node, "_sized") if node.ctx == "load" else node

    def visit_Filter(self, node: nodes.Filter) -> nodes.Node:
        """``x|replace('-', '')``: text no longer than what it is given, as harmless as
        ``lower`` (``HARMLESS_FILTERS``), so it goes to jinja's filter as it is."""
        self.generic_visit(node)
        if node.name != "replace" or len(node.args) != 2:
            return node
        if node.kwargs or node.dyn_args or node.dyn_kwargs:
            return node
        old, new = (arg.value if isinstance(arg, nodes.Const) else None for arg in node.args)
        if isinstance(old, str) and isinstance(new, str) and old and len(new) <= len(old):
            node.name = "_shorter_replace"
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        if self.count_output:
            node.nodes = [
                _filter(
                    nodes.MarkSafeIfAutoescape(nodes.Const(child.data))
                    if isinstance(child, nodes.TemplateData)
                    else child,
                    "_written",
                    node.lineno,
                )
                for child in node.nodes
            ]
        return node


def _filter(node: nodes.Node, name: str, lineno: int | None = None) -> nodes.Filter:
    """``node|name``, at the line of ``node`` (or ``lineno``, for a node made here)."""
    made = nodes.Filter(node, name, [], [], None, None)
    made.set_lineno(node.lineno or lineno or 1)
    return made
