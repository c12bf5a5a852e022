"""The jinja sandbox account templates render in, with limits on what a render may make
and how long it may run.

Why limits: jinja's sandbox keeps templates away from Python internals, but not from
``{{ 'a' * 10**9 }}``, ``{{ 2 ** 10**9 }}`` or a loop in a loop in a loop: one such
template in a pull request would take the machine that plans (and holds the
provisioning credentials) down with a MemoryError, or hang it. So, per render:

- no text or list a template makes is longer than ``MAX_LENGTH`` characters (a list
  counts its items' characters), nor is what it writes, in all;
- no number it makes has more than ``MAX_DIGITS`` digits;
- no ``range`` has more than ``MAX_RANGE`` numbers;
- it runs no longer than ``MAX_SECONDS`` (from ``start``).

A template that goes past a limit raises ``Refused``, before it makes what it asked
for where the size can be worked out first (``'a' * n``, ``2 ** n``, ``'%0*d'``,
``x.ljust(n)``, ``a ~ b``, ``join``, ``replace``...), else as soon as it is made.

How, at no cost to the templates that do not need it:

- the operators that can make something large (``*``, ``**``, ``+``, ``%``) go
  through ``call_binop``, every call (function, method, macro) through ``call``, the
  built-in filters that can make something large or take long through a wrapper
  (``_bounded_filter``); each checks the clock and the size of what it makes;
- ``Sandbox.bound`` rewrites the parsed template: each ``{% for %}`` iterates
  through ``_steps`` (the clock), each ``~`` joins through ``_concat`` (sizes
  first), each list, tuple or dict literal is measured (``[x, x]`` shares ``x``, but
  ``str`` of it would not), and a template with loops, macros, blocks or many
  ``{{ }}`` counts what each one writes (``_written``): a loop would write its body
  again and again, a block's text would be joined, before anything else measured it;
- everything else (a variable, an attribute, a comparison, ``-``, a slice, the
  filters of ``_HARMLESS_FILTERS``) makes no more than it is given.

The account templates that only read variables never get here: they take the fast
path of ``expand/templates.py``.
"""

from __future__ import annotations

import math
import re
import time
import types
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from functools import update_wrapper, wraps
from string import Formatter
from typing import Any, Literal

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import Namespace, generate_lorem_ipsum, pass_context, pass_eval_context
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

MAX_LENGTH = 1_000_000
"""Characters of any text a render makes or writes; a list or mapping counts those of
its items (and one for each item)."""
MAX_DIGITS = 4_300
"""Digits of any number a render makes (what Python converts to text at most)."""
MAX_RANGE = 100_000
"""Numbers of a ``range`` (jinja's own sandbox limit)."""
MAX_SECONDS = 1.0
"""How long one render may run."""

_BITS_PER_DIGIT = math.log2(10)


class Refused(Exception):
    """A render the sandbox stopped: ``limit`` when it went past one of the limits above
    (``timed_out`` for the time limit). Reaching for Python internals is jinja's
    ``SecurityError``; ``expand/templates.py`` turns both into ``TemplateRefused``."""

    def __init__(
        self, kind: Literal["sandbox", "limit"], reason: str, *, timed_out: bool = False
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.timed_out = timed_out


def _limit(reason: str) -> Refused:
    return Refused("limit", reason)


def _too_long(size: int, what: str = "a text") -> Refused:
    return _limit(f"would make {what} of {size:,} characters; the limit is {MAX_LENGTH:,}")


def _too_large(what: str) -> Refused:
    return _limit(f"would make {what} of more than {MAX_LENGTH:,} characters, the limit")


def _too_many_digits(bits: int) -> Refused:
    digits = int(bits / _BITS_PER_DIGIT) + 1
    return _limit(f"would make a number of about {digits:,} digits; the limit is {MAX_DIGITS:,}")


def _max_bits() -> int:
    return math.floor(MAX_DIGITS * _BITS_PER_DIGIT)


# --------------------------------------------------------------------------- measuring


def weight(value: Any, limit: int | None = None) -> int:
    """About how many characters ``str(value)`` takes: a text its length, a list or
    mapping its items' (each counted wherever it appears, as ``str`` writes it), one
    more for each item. Counting stops once past ``limit`` (default ``MAX_LENGTH``),
    so the cost is bounded whatever the value: a list of a list of a list... that
    shares its items is counted as long as it would be written."""
    limit = MAX_LENGTH if limit is None else limit
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif type(item) is int:
            total += item.bit_length() * 77 // 256 + 1  # log10(2) ≈ 77/256
        elif isinstance(item, (list, tuple, set, frozenset, KeysView, ValuesView)):
            total += len(item) + 2  # each item is paid for before it is looked at
            if total <= limit:
                stack.extend(item)
        elif isinstance(item, (dict, ItemsView)):
            pairs = item.items() if isinstance(item, dict) else item
            total += 2 * len(pairs) + 2
            if total <= limit:
                for key, inner in pairs:
                    stack.append(key)
                    stack.append(inner)
        elif isinstance(item, Namespace):
            stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        else:
            total += 1
        if total > limit:
            break
    return total


def sized(value: Any) -> Any:
    """``value``, if it is within the limits; raises ``Refused`` if not."""
    kind = type(value)
    if kind is str or kind is bytes or kind is Markup:
        if len(value) > MAX_LENGTH:
            raise _too_long(len(value))
    elif kind is int:
        bits = value.bit_length()
        if bits > _max_bits():
            raise _too_many_digits(bits)
    elif (
        isinstance(value, (list, tuple, set, frozenset, dict, Namespace))
        and weight(value) > MAX_LENGTH
    ):
        raise _too_large(_what(value))
    return value


def _what(value: Any) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a value"


def _in_time(context: Context) -> None:
    if time.monotonic() > context.deadline:  # type: ignore[attr-defined]
        raise _timed_out()


def _timed_out() -> Refused:
    seconds = f"{MAX_SECONDS:g} second{'' if MAX_SECONDS == 1 else 's'}"
    return Refused("limit", f"ran longer than {seconds}, the time limit", timed_out=True)


# --------------------------------------------------------------------------- checks before


def _check_repeat(left: Any, right: Any) -> None:
    """``left * right``."""
    if isinstance(left, int) and isinstance(right, int):
        bits = abs(left).bit_length() + abs(right).bit_length()
        if bits > _max_bits():
            raise _too_many_digits(bits)
        return
    if isinstance(right, int) and isinstance(left, (str, bytes, list, tuple)):
        sequence, times = left, right
    elif isinstance(left, int) and isinstance(right, (str, bytes, list, tuple)):
        sequence, times = right, left
    else:
        return
    if times > 1:
        size = weight(sequence, MAX_LENGTH // times + 1) * times
        if size > MAX_LENGTH:
            raise _too_long(size, "a text" if isinstance(sequence, (str, bytes)) else "a list")


def _check_power(left: Any, right: Any) -> None:
    """``left ** right`` has about ``right * log2(left)`` bits."""
    if isinstance(left, int) and isinstance(right, int) and right > 1 and abs(left) > 1:
        bits = int(right * math.log2(abs(left)))
        if bits > _max_bits():
            raise _too_many_digits(bits)


# width and precision of a printf-style conversion: %[(name)][flags][width][.precision]
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.)", re.S)


def _check_printf(text: str | bytes, args: Any) -> None:
    """``text % args``: no width or precision past the limit (also those ``*`` takes)."""
    fmt = text.decode("latin-1") if isinstance(text, bytes) else text
    if "%" not in fmt:
        return
    given = args if isinstance(args, tuple) else (args,)
    position = 0
    for width, precision, conversion in _PRINTF.findall(fmt):
        if conversion == "%":
            continue
        for number in (width, precision):
            if number == "*":
                taken = given[position] if position < len(given) else 0
                position += 1
                size = taken if isinstance(taken, int) else 0
            else:
                size = int(number) if number else 0
            if size > MAX_LENGTH:
                raise _too_long(size)
        position += 1


def _check_spec(spec: str) -> None:
    """A ``format`` spec (``>30``, ``0{width}d`` once resolved): no number past the limit."""
    for number in re.findall(r"\d+", spec):
        if int(number) > MAX_LENGTH:
            raise _too_long(int(number))


def _replaced_length(text: str | bytes, old: Any, new: Any, count: Any) -> int:
    if not isinstance(old, (str, bytes)) or not isinstance(new, (str, bytes)):
        return len(text)
    if type(old) is not type(text) or (old and len(new) <= len(old)):
        return len(text)  # no longer than it was
    found = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(0, len(new) - len(old))


def _check_method(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Methods of text that can make a long text from a number (``'a'.ljust(10**9)``) or
    from a few short ones (``x.replace('', x)``, ``sep.join(...)``): the length they
    would make, before they make it. Returns the arguments to call with (``join``'s
    items, once read)."""
    text = method.__self__
    name = method.__name__
    if name in ("ljust", "rjust", "center", "zfill"):
        width = args[0] if args else None
        if isinstance(width, int) and width > MAX_LENGTH:
            raise _too_long(width)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            tabs = text.count("\t" if isinstance(text, str) else b"\t")
            if len(text) + tabs * size > MAX_LENGTH:
                raise _too_long(len(text) + tabs * size)
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        size = _replaced_length(text, args[0], args[1], count)
        if size > MAX_LENGTH:
            raise _too_long(size)
    elif name == "join" and args:
        items = list(args[0])
        size = sum(weight(item) for item in items) + len(text) * max(0, len(items) - 1)
        if size > MAX_LENGTH:
            raise _too_long(size)
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, (str, bytes))), default=1)
        if len(text) * longest > MAX_LENGTH:
            raise _too_long(len(text) * longest)
    return args


# --------------------------------------------------------------------------- filters


def _check_filter_center(value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
    if isinstance(width, int) and width > MAX_LENGTH:
        raise _too_long(width)


def _check_filter_indent(
    value: Any, width: Any = 4, first: Any = False, blank: Any = False
) -> None:
    """Each line is indented, but blank ones (unless ``blank``)."""
    text = str(value)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    lines = text.splitlines()
    indented = len(lines) if blank else sum(1 for line in lines if line)
    size = len(text) + (indented + 1) * pad
    if size > MAX_LENGTH:
        raise _too_long(size)


def _check_filter_format(value: Any, *args: Any, **kwargs: Any) -> None:
    _check_printf(str(value), kwargs or args)


def _check_filter_replace(value: Any, old: Any = "", new: Any = "", count: Any = None) -> None:
    old, new = str(old), str(new)
    if old and len(new) <= len(old):
        return
    text = str(value)
    size = _replaced_length(text, old, new, count)
    if size > MAX_LENGTH:
        raise _too_long(size)


def _check_filter_wordwrap(value: Any, width: Any = 79, *args: Any, **kwargs: Any) -> None:
    wrap = kwargs.get("wrapstring", args[1] if len(args) > 1 else None)
    if isinstance(wrap, str):
        text = str(value)
        size = len(text) + (len(text) + 1) * len(wrap)
        if size > MAX_LENGTH:
            raise _too_long(size)


def _check_filter_batch(value: Any, linecount: Any = 1, fill_with: Any = None) -> None:
    if fill_with is not None and isinstance(linecount, int) and linecount > MAX_RANGE:
        raise _limit(f"asks for batches of {linecount:,} items; the limit is {MAX_RANGE:,}")


def _check_filter_slice(value: Any, slices: Any = 1, *_: Any, **__: Any) -> None:
    if isinstance(slices, int) and slices > MAX_RANGE:
        raise _limit(f"asks for {slices:,} slices; the limit is {MAX_RANGE:,}")


def _check_filter_tojson(value: Any, indent: Any = None) -> None:
    if isinstance(indent, int) and indent > 0:
        size = weight(value) * (indent + 1)
        if size > MAX_LENGTH:
            raise _too_long(size)


def _check_filter_sum(value: Any, attribute: Any = None, start: Any = 0) -> None:
    """Lists are added up one by one, each copying the sum so far: n lists take n² steps."""
    most = math.isqrt(MAX_LENGTH)
    if not isinstance(start, (int, float)) and isinstance(value, list) and len(value) > most:
        raise _limit(f"would add up {len(value):,} lists one by one; the limit is {most:,}")


def _check_filter_urlize(value: Any, *args: Any, **kwargs: Any) -> None:
    extra = sum(len(v) for v in [*args, *kwargs.values()] if isinstance(v, str))
    text = str(value)
    size = len(text) * 3 + (text.count(" ") + 1) * extra
    if size > MAX_LENGTH:
        raise _too_long(size)


def _check_filter_join(items: Any, d: Any = "", attribute: Any = None) -> None:
    """An item's attribute is never longer than the item written out."""
    if isinstance(items, list):
        size = sum(weight(item) for item in items) + len(str(d)) * max(0, len(items) - 1)
        if size > MAX_LENGTH:
            raise _too_long(size)


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _check_filter_center,
    "indent": _check_filter_indent,
    "format": _check_filter_format,
    "replace": _check_filter_replace,
    "wordwrap": _check_filter_wordwrap,
    "batch": _check_filter_batch,
    "slice": _check_filter_slice,
    "tojson": _check_filter_tojson,
    "sum": _check_filter_sum,
    "urlize": _check_filter_urlize,
    "join": _check_filter_join,
}


_HARMLESS_FILTERS = frozenset(
    {
        *("abs", "attr", "capitalize", "count", "d", "default", "filesizeformat", "first"),
        *("float", "int", "items", "last", "length", "lower", "max", "min", "random"),
        *("reverse", "round", "safe", "striptags", "title", "trim", "upper", "wordcount"),
    }
)
"""Built-in filters left as they are: they take linear time at most, and give back what
they are given, a part of it, or about as much text (``'ß'|upper`` is ``SS``, once)."""


def _bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A built-in filter that checks the clock, what it is asked (``_FILTER_CHECKS``)
    and the size of what it made. It takes the context (so it is never run while
    compiling), and gives the filter what it takes."""
    check = _FILTER_CHECKS.get(name)
    reads = name in ("join", "sum")  # the items, read once to be measured first
    passes = getattr(getattr(fn, "jinja_pass_arg", None), "name", None)
    first: Callable[[Context], Any] | None = {
        "context": lambda context: context,
        "eval_context": lambda context: context.eval_ctx,
        "environment": lambda context: context.environment,
    }.get(str(passes))

    @pass_context
    @wraps(fn)
    def run(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() > context.deadline:  # type: ignore[attr-defined]
            raise _timed_out()
        if reads and isinstance(value, Iterable):
            value = list(value)
        if check is not None:
            check(value, *args, **kwargs)
        if first is None:
            result = fn(value, *args, **kwargs)
        else:
            result = fn(first(context), value, *args, **kwargs)
        if type(result) is str:
            if len(result) > MAX_LENGTH:
                raise _too_long(len(result))
            return result
        return sized(result)

    return run


# --------------------------------------------------------------------------- rewriting


@pass_context
def _steps(context: Context, iterable: Any) -> Iterator[Any]:
    """What a ``{% for %}`` iterates over, checking the clock at each item."""
    for item in iterable:
        _in_time(context)
        yield item


@pass_eval_context
def _concat(eval_ctx: Any, parts: tuple[Any, ...]) -> str:
    """``a ~ b ~ c``, measured before it is joined."""
    size = 0
    for part in parts:
        size += len(part) if type(part) is str else weight(part)
    if size > MAX_LENGTH:
        raise _too_long(size)
    joined: str = markup_join(parts) if eval_ctx.autoescape else str_join(parts)
    return joined


@pass_context
def _written(context: Context, value: Any) -> Any:
    """What a ``{{ }}`` (or text) of a template with loops, macros or blocks writes, counted
    against the render's budget: a loop would write its body, a block's or macro's text
    would be joined, before anything else could measure it."""
    size = len(value) if isinstance(value, str) else weight(value)
    context.written += size  # type: ignore[attr-defined]
    if context.written > MAX_LENGTH:  # type: ignore[attr-defined]
        raise _limit(f"writes more than {MAX_LENGTH:,} characters, the limit")
    return value


_REPEATS = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.AssignBlock)
_FEW_WRITES = 16
"""A template without repeats that writes this many ``{{ }}`` and texts or fewer is
measured once, when it is done (it makes at most that many times the limit); others
count what they write as they write it."""


class _Bound(NodeTransformer):
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
        ``lower`` (``_HARMLESS_FILTERS``), so it goes to jinja's filter as it is."""
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


# --------------------------------------------------------------------------- the environment


class _Context(Context):
    """A render's context: when it must be done by (``start``), and how much it wrote.
    (Class attributes, not ``__init__``: a Python ``__init__`` costs more than the rest of
    a short render's bookkeeping.)"""

    deadline = math.inf
    written = 0


def start(context: Context) -> None:
    """Start the clock of a render (a context of ``Template.render``'s has none)."""
    context.deadline = time.monotonic() + MAX_SECONDS  # type: ignore[attr-defined]


class _Formatter(SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_spec(format_spec)
        return super().format_field(value, format_spec)


class _EscapeFormatter(SandboxedEscapeFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_spec(format_spec)
        return super().format_field(value, format_spec)


def _range(*args: int) -> range:
    numbers = range(*args)
    try:
        count = len(numbers)
    except OverflowError:  # more than sys.maxsize
        count = abs((numbers.stop - numbers.start) // numbers.step)
    if count > MAX_RANGE:
        raise _limit(f"asks for a range of {count:,} numbers; the limit is {MAX_RANGE:,}")
    return numbers


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """jinja's ``lipsum``, but not past the limit (a word and a space: about 8 characters)."""
    size = n * max * 8 if isinstance(n, int) and isinstance(max, int) else 0
    if size > MAX_LENGTH:
        raise _too_long(size)
    return generate_lorem_ipsum(n, html, min, max)


class Sandbox(ImmutableSandboxedEnvironment):
    """jinja's immutable sandbox, with the limits of this module."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    context_class = _Context

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _range
        self.globals["lipsum"] = _lipsum
        self.filters["_shorter_replace"] = self.filters["replace"]
        for name, fn in list(self.filters.items()):
            if name not in _HARMLESS_FILTERS and not name.startswith("_"):
                self.filters[name] = _bounded_filter(name, fn)
        self.filters["_steps"] = _steps
        self.filters["_concat"] = _concat
        self.filters["_sized"] = sized
        self.filters["_written"] = _written

    def bound(self, source: str) -> jinja2.Template:
        """``source`` compiled, rewritten as the module docstring says."""
        tree = self.parse(source)
        writes = sum(len(output.nodes) for output in tree.find_all(nodes.Output))
        count_output = writes > _FEW_WRITES or any(True for _ in tree.find_all(_REPEATS))
        _Bound(count_output).visit(tree)
        tree.set_environment(self)
        return self.from_string(tree)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%":
            if isinstance(left, (str, bytes)):
                _check_printf(left, right)
                return sized(left % right)
            return left % right
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**":
            _check_power(left, right)
        return sized(self.binop_table[operator](left, right))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _in_time(context)
        if isinstance(obj, types.BuiltinMethodType) and isinstance(
            getattr(obj, "__self__", None), (str, bytes)
        ):
            args = _check_method(obj, args, kwargs)
        return sized(super().call(context, obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """jinja's sandboxed ``str.format``, with ``_check_spec`` on every field."""
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
