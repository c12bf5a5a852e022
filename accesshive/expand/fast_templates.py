"""The fast path of rendering: a template that only reads variables (text, ``{{ name }}``,
``{{ name|lower|... }}``, simple ``{% if %}`` blocks) rendered by a Python expression,
without jinja.

Why a module of its own: a large org renders millions of attribute templates, and jinja
builds a new context for each render; these templates have nothing for the sandbox to
guard: what they write is what they are given, plain data (``expand/plain_values.py``),
the same every run. ``expand/templates.py`` (``render``) takes this path first, and
``expand/accounts.py`` puts the expressions in the code it generates per source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes

from accesshive.expand.compiling import ENV, TemplateProblem
from accesshive.expand.folding import ascii_remembered, slug_remembered
from accesshive.expand.plain_values import UNAVAILABLE

Renderer = Callable[[Mapping[str, Any]], str]

# Filters the fast path knows; each does exactly what the jinja filter of that name does.
_FAST_FILTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "trim": str.strip,
    "ascii": ascii_remembered,  # always given text here
    "slug": slug_remembered,
}


@lru_cache(maxsize=8192)
def fast_expression(text: str) -> str | None:
    """A Python expression that renders ``text`` (before the final strip), over a context
    mapping named ``c``, for the common templates: text, ``{{ name }}``,
    ``{{ name|filter|... }}`` with the filters above, and ``{% if %}`` blocks whose test
    is ``name``, ``name is defined``, ``name == literal`` (or ``!=``, or ``not`` any of
    these); None for anything else.

    Why: a large org renders millions of attribute templates, and jinja builds a new
    context for each render. These templates read variables and nothing else, so the
    sandbox has nothing to guard; anything richer goes to jinja. The expression holds
    only literals (``repr`` of the template's text, variable names and constants) and
    the fixed names of ``FAST_NAMESPACE``: nothing of a template can become code. A
    variable the context lacks raises ``KeyError`` naming it, where jinja's strict
    undefined raises.
    """
    try:
        tree = ENV.parse(text)
    except (jinja2.TemplateSyntaxError, ValueError):
        return None
    if sum(1 for _ in tree.find_all(nodes.Name)) > FAST_MAX_READS:
        return None
    return _fast_nodes(tree.body)


FAST_MAX_READS = 64
"""Variable reads a fast template may have. The fast path has no limits to check: it
writes each value it reads once, so what it writes is at most this many times an
identity's longest value. More reads go to jinja, which counts what it writes."""


def _fast_nodes(body: list[nodes.Node]) -> str | None:
    parts: list[str] = []
    for node in body:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                part = _fast_part(child)
                if part is None:
                    return None
                parts.append(part)
        elif isinstance(node, nodes.If):
            part = _fast_if(node)
            if part is None:
                return None
            parts.append(part)
        else:
            return None
    if not parts:
        return "''"
    return parts[0] if len(parts) == 1 else "(" + " + ".join(parts) + ")"


def _fast_if(node: nodes.If) -> str | None:
    test, then = _fast_test(node.test), _fast_nodes(node.body)
    if test is None or then is None:
        return None
    if node.elif_:
        rest = nodes.If(node.elif_[0].test, node.elif_[0].body, node.elif_[1:], node.else_)
        otherwise = _fast_if(rest)
    else:
        otherwise = _fast_nodes(node.else_)
    if otherwise is None:
        return None
    return f"({then} if {test} else {otherwise})"


def _fast_test(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Not):
        inner = _fast_test(node.node)
        return None if inner is None else f"(not {inner})"
    if isinstance(node, nodes.Name):
        return _fast_name(node)
    if isinstance(node, nodes.Test) and isinstance(node.node, nodes.Name):
        if node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return None
        name = node.node.name
        if node.name not in ("defined", "undefined") or _fast_name(node.node) is None:
            return None
        return f"({name!r} {'in' if node.name == 'defined' else 'not in'} c)"
    if isinstance(node, nodes.Compare) and len(node.ops) == 1:
        left, op = _fast_name(node.expr), node.ops[0]
        right = op.expr
        if left is None or op.op not in ("eq", "ne") or not isinstance(right, nodes.Const):
            return None
        if type(right.value) not in (str, int, bool, type(None)):
            return None
        return f"({left} {'==' if op.op == 'eq' else '!='} {right.value!r})"
    return None


_JINJA_NAMES = frozenset({*ENV.globals, "self", *UNAVAILABLE})
"""Names jinja resolves itself: its globals, ``self`` (the template), and the globals
left out (``lipsum``), which jinja refuses as the sandbox does (``expand/sandbox.py``:
``Undefined``), not as an attribute each identity lacks."""


def _fast_name(node: nodes.Node) -> str | None:
    """``c['name']``; None for a name jinja resolves itself."""
    if not isinstance(node, nodes.Name) or node.ctx != "load" or node.name in _JINJA_NAMES:
        return None
    return f"c[{node.name!r}]"


def _fast_part(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.TemplateData):
        return repr(node.data)
    chain: list[str] = []
    current: nodes.Node | None = node
    while isinstance(current, nodes.Filter):
        if current.name not in _FAST_FILTERS:
            return None
        if current.args or current.kwargs or current.dyn_args or current.dyn_kwargs:
            return None
        chain.insert(0, current.name)
        current = current.node
    name = _fast_name(current) if current is not None else None
    if name is None:
        return None
    code = f"str({name})"
    for filter_name in chain:
        code = f"_filter_{filter_name}({code})"
    return code


FAST_NAMESPACE: dict[str, Any] = {
    "__builtins__": {"str": str},
    **{f"_filter_{name}": fn for name, fn in _FAST_FILTERS.items()},
}
"""All that a fast expression can call."""


@lru_cache(maxsize=8192)
def fast_renderer(text: str) -> Renderer | None:
    """``fast_expression`` as a function (the rendered text, not yet stripped)."""
    code = fast_expression(text)
    if code is None:
        return None
    run: Renderer = eval(
        f"lambda c: {code}", dict(FAST_NAMESPACE)
    )  # literals only: see fast_expression

    def fast(context: Mapping[str, Any]) -> str:
        try:
            return run(context)
        except KeyError as missing:
            raise TemplateProblem(f"has no attribute '{missing.args[0]}'") from None

    return fast
