"""The jinja sandbox account templates render in, with limits on what a render may make
and how long it may run.

Why limits: jinja's sandbox keeps templates away from Python internals, but not from
``{{ 'a' * 10**9 }}``, ``{{ 2 ** 10**9 }}`` or a loop in a loop in a loop: one such
template in a pull request would take the machine that plans (and holds the
provisioning credentials) down with a MemoryError, or hang it. So, per render
(the limits and the measuring are ``expand/limits.py``):

- no text or list a template makes is longer than ``MAX_LENGTH`` characters (a list
  counts its items' characters), nor is what it writes, in all;
- no number it makes has more than ``MAX_DIGITS`` digits;
- no ``range`` has more than ``MAX_RANGE`` numbers;
- it runs no longer than ``MAX_SECONDS`` (from ``start``).

A template that goes past a limit raises ``TemplateRefused``, before it makes what it asked
for where the size can be worked out first (``'a' * n``, ``2 ** n``, ``'%0*d'``,
``x.ljust(n)``, ``a ~ b``, ``join``, ``replace``...: ``expand/size_checks.py``), else
as soon as it is made.

How, at no cost to the templates that do not need it:

- the operators that can make something large (``*``, ``**``, ``+``, ``%``) go
  through ``call_binop``, every call (function, method, macro) through ``call``, the
  built-in filters that can make something large or take long through a wrapper
  (``expand/bounded_filters.py``: ``bounded_filter``); each checks the clock and the
  size of what it makes;
- ``Sandbox.bound`` rewrites the parsed template (``expand/rewrite.py``): each
  ``{% for %}`` iterates through ``steps`` (the clock), each ``~`` joins through
  ``concat`` (sizes first), each list, tuple or dict literal is measured (``[x, x]``
  shares ``x``, but ``str`` of it would not), and a template with loops, macros, blocks
  or many ``{{ }}`` counts what each one writes (``written``): a loop would write its
  body again and again, a block's text would be joined, before anything else measured it;
- everything else (a variable, an attribute, a comparison, ``-``, a slice, the
  filters of ``HARMLESS_FILTERS``) makes no more than it is given.

What a render writes is plain data, the same every run (``expand/plain_values.py``):
``finalize`` checks each value a ``{{ }}`` writes, ``%``, ``str.format`` and the filters
that make text check what they turn into text, and what would give another value each
run is left out (``lipsum``: a template that names it is refused by ``Undefined``; the
``random`` filter refuses). ``range`` stays: it is bounded, and the same every run; so
do ``dict``, ``cycler``, ``joiner`` and ``namespace``, whose values only serve to make
plain ones.

This module is the environment that puts those parts together (``Sandbox``) and the
clock of a render (``start``). The account templates that only read variables never get
here: they take the fast path of ``expand/fast_templates.py``.
"""

from __future__ import annotations

import math
import time
import types
from collections.abc import Callable
from functools import update_wrapper
from string import Formatter
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import missing, pass_context
from markupsafe import Markup

from accesshive.expand import limits
from accesshive.expand.bounded_filters import HARMLESS_FILTERS, bounded_filter
from accesshive.expand.limits import in_time, over_limit, sized
from accesshive.expand.plain_values import (
    RANDOM_FILTER,
    TEXT_FILTERS,
    UNAVAILABLE,
    joined_items,
    plain,
    text_filter,
)
from accesshive.expand.rewrite import FEW_WRITES, REPEATS, Bound, concat, steps, written
from accesshive.expand.size_checks import (
    check_method,
    check_power,
    check_printf,
    check_repeat,
    check_spec,
)
from accesshive.expand.template_errors import TemplateRefused


class _Context(Context):
    """A render's context: when it must be done by (``start``), and how much it wrote.
    (Class attributes, not ``__init__``: a Python ``__init__`` costs more than the rest of
    a short render's bookkeeping.)"""

    deadline = math.inf
    written = 0


def start(context: Context) -> None:
    """Start the clock of a render (a context of ``Template.render``'s has none)."""
    context.deadline = time.monotonic() + limits.MAX_SECONDS  # type: ignore[attr-defined]


class _Formatter(SandboxedFormatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        # each field plain data, before ``!r`` or ``!s`` could turn it into text
        value, used = super().get_field(field_name, args, kwargs)
        return plain(value), used

    def format_field(self, value: Any, format_spec: str) -> Any:
        check_spec(format_spec)
        return super().format_field(value, format_spec)


class _EscapeFormatter(SandboxedEscapeFormatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        value, used = super().get_field(field_name, args, kwargs)
        return plain(value), used

    def format_field(self, value: Any, format_spec: str) -> Any:
        check_spec(format_spec)
        return super().format_field(value, format_spec)


def _range(*args: int) -> range:
    numbers = range(*args)
    try:
        count = len(numbers)
    except OverflowError:  # more than sys.maxsize
        count = abs((numbers.stop - numbers.start) // numbers.step)
    if count > limits.MAX_RANGE:
        raise over_limit(
            f"asks for a range of {count:,} numbers; the limit is {limits.MAX_RANGE:,}"
        )
    return numbers


@pass_context  # never run while compiling
def _no_random(context: Context, *_: Any, **__: Any) -> Any:
    raise TemplateRefused("value", RANDOM_FILTER)


class Undefined(jinja2.StrictUndefined):
    """jinja's strict undefined, but a name of ``UNAVAILABLE`` (``lipsum``) that the
    identity does not have is refused as a template that would not give the same value
    every run, once for the template, rather than as an attribute each identity lacks."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: Any = jinja2.UndefinedError,
    ) -> None:
        if hint is None and obj is missing and name in UNAVAILABLE:
            hint, exc = UNAVAILABLE[name], _unavailable
        super().__init__(hint, obj, name, exc)


def _unavailable(message: str | None = None) -> TemplateRefused:
    """What ``Undefined`` raises for a name of ``UNAVAILABLE``."""
    return TemplateRefused("value", message or "")


class Sandbox(ImmutableSandboxedEnvironment):
    """jinja's immutable sandbox, with the limits of this module."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    context_class = _Context

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _range
        for name in UNAVAILABLE:
            del self.globals[name]
        self.finalize = plain
        self.filters["random"] = _no_random
        self.filters["_shorter_replace"] = self.filters["replace"]
        for name, fn in list(self.filters.items()):
            if name == "join":
                fn = joined_items(fn)
            elif name in TEXT_FILTERS:
                fn = text_filter(fn)
            if name not in HARMLESS_FILTERS and not name.startswith("_"):
                fn = bounded_filter(name, fn)
            self.filters[name] = fn
        self.filters["_steps"] = steps
        self.filters["_concat"] = concat
        self.filters["_sized"] = sized
        self.filters["_written"] = written

    def bound(self, source: str) -> jinja2.Template:
        """``source`` compiled, rewritten as the module docstring says."""
        tree = self.parse(source)
        writes = sum(len(output.nodes) for output in tree.find_all(nodes.Output))
        count_output = writes > FEW_WRITES or any(True for _ in tree.find_all(REPEATS))
        Bound(count_output).visit(tree)
        tree.set_environment(self)
        return self.from_string(tree)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%":
            if isinstance(left, (str, bytes)):
                plain(right)
                check_printf(left, right)
                return sized(left % right)
            return left % right
        if operator == "*":
            check_repeat(left, right)
        elif operator == "**":
            check_power(left, right)
        return sized(self.binop_table[operator](left, right))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        in_time(context)
        if isinstance(obj, types.BuiltinMethodType) and isinstance(
            getattr(obj, "__self__", None), (str, bytes)
        ):
            args = check_method(obj, args, kwargs)
        return sized(super().call(context, obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """jinja's sandboxed ``str.format``, with ``check_spec`` on every field."""
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)):
            return None
        if value.__name__ not in ("format", "format_map"):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        formatter: Formatter = (
            _EscapeFormatter(self, escape=text.escape)
            if isinstance(text, Markup)
            else _Formatter(self)
        )
        is_map = value.__name__ == "format_map"
        kind = type(text)

        def run(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs, args = args[0], ()
            return kind(formatter.vformat(text, args, kwargs))

        return update_wrapper(run, value)
