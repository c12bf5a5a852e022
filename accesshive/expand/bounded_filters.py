"""jinja's built-in filters, bounded: each one that can make something large or take long
checks the clock, what it is asked (``_FILTER_CHECKS``) and the size of what it made.

Why a module of its own: ``Sandbox`` (``expand/sandbox.py``) wraps every built-in filter
but the harmless ones (``HARMLESS_FILTERS``) with ``bounded_filter``; what each filter may
be asked is its own small check, next to the others.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from jinja2.runtime import Context
from jinja2.utils import pass_context

from accesshive.expand import limits
from accesshive.expand.limits import out_of_time, over_limit, sized, too_long, weight
from accesshive.expand.size_checks import check_printf, replaced_length


def _check_filter_center(value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
    if isinstance(width, int) and width > limits.MAX_LENGTH:
        raise too_long(width)


def _check_filter_indent(
    value: Any, width: Any = 4, first: Any = False, blank: Any = False
) -> None:
    """Each line is indented, but blank ones (unless ``blank``)."""
    text = str(value)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    lines = text.splitlines()
    indented = len(lines) if blank else sum(1 for line in lines if line)
    size = len(text) + (indented + 1) * pad
    if size > limits.MAX_LENGTH:
        raise too_long(size)


def _check_filter_format(value: Any, *args: Any, **kwargs: Any) -> None:
    check_printf(str(value), kwargs or args)


def _check_filter_replace(value: Any, old: Any = "", new: Any = "", count: Any = None) -> None:
    old, new = str(old), str(new)
    if old and len(new) <= len(old):
        return
    text = str(value)
    size = replaced_length(text, old, new, count)
    if size > limits.MAX_LENGTH:
        raise too_long(size)


def _check_filter_wordwrap(value: Any, width: Any = 79, *args: Any, **kwargs: Any) -> None:
    wrap = kwargs.get("wrapstring", args[1] if len(args) > 1 else None)
    if isinstance(wrap, str):
        text = str(value)
        size = len(text) + (len(text) + 1) * len(wrap)
        if size > limits.MAX_LENGTH:
            raise too_long(size)


def _check_filter_batch(value: Any, linecount: Any = 1, fill_with: Any = None) -> None:
    if fill_with is not None and isinstance(linecount, int) and linecount > limits.MAX_RANGE:
        raise over_limit(
            f"asks for batches of {linecount:,} items; the limit is {limits.MAX_RANGE:,}"
        )


def _check_filter_slice(value: Any, slices: Any = 1, *_: Any, **__: Any) -> None:
    if isinstance(slices, int) and slices > limits.MAX_RANGE:
        raise over_limit(f"asks for {slices:,} slices; the limit is {limits.MAX_RANGE:,}")


def _check_filter_tojson(value: Any, indent: Any = None) -> None:
    if isinstance(indent, int) and indent > 0:
        size = weight(value) * (indent + 1)
        if size > limits.MAX_LENGTH:
            raise too_long(size)


def _check_filter_sum(value: Any, attribute: Any = None, start: Any = 0) -> None:
    """Lists are added up one by one, each copying the sum so far: n lists take n² steps."""
    most = math.isqrt(limits.MAX_LENGTH)
    if not isinstance(start, (int, float)) and isinstance(value, list) and len(value) > most:
        raise over_limit(f"would add up {len(value):,} lists one by one; the limit is {most:,}")


def _check_filter_urlize(value: Any, *args: Any, **kwargs: Any) -> None:
    extra = sum(len(v) for v in [*args, *kwargs.values()] if isinstance(v, str))
    text = str(value)
    size = len(text) * 3 + (text.count(" ") + 1) * extra
    if size > limits.MAX_LENGTH:
        raise too_long(size)


def _check_filter_join(items: Any, d: Any = "", attribute: Any = None) -> None:
    """An item's attribute is never longer than the item written out."""
    if isinstance(items, list):
        size = sum(weight(item) for item in items) + len(str(d)) * max(0, len(items) - 1)
        if size > limits.MAX_LENGTH:
            raise too_long(size)


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


HARMLESS_FILTERS = frozenset(
    {
        *("abs", "attr", "capitalize", "count", "d", "default", "filesizeformat", "first"),
        *("float", "int", "items", "last", "length", "lower", "max", "min", "random"),
        *("reverse", "round", "safe", "striptags", "title", "trim", "upper", "wordcount"),
    }
)
"""Built-in filters left as they are: they take linear time at most, and give back what
they are given, a part of it, or about as much text (``'ß'|upper`` is ``SS``, once)."""


def bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
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
            raise out_of_time()
        if reads and isinstance(value, Iterable):
            value = list(value)
        if check is not None:
            check(value, *args, **kwargs)
        if first is None:
            result = fn(value, *args, **kwargs)
        else:
            result = fn(first(context), value, *args, **kwargs)
        if type(result) is str:
            if len(result) > limits.MAX_LENGTH:
                raise too_long(len(result))
            return result
        return sized(result)

    return run
