"""What an operation of a template would make, worked out before it makes it: ``*``,
``**``, printf-style ``%``, a ``format`` spec, and the methods of text that can make a long
text from a number or from a few short ones (``'a'.ljust(10**9)``, ``x.replace('', x)``).

Why a module of its own: these are the checks the sandbox (``expand/sandbox.py``:
``Sandbox.call_binop``, ``Sandbox.call``, its formatters) and its bounded filters
(``expand/bounded_filters.py``) run before the work, so that a template asking for
gigabytes is refused before it takes them, not once it has.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from accesshive.expand import limits
from accesshive.expand.limits import max_bits, too_long, too_many_digits, weight


def check_repeat(left: Any, right: Any) -> None:
    """``left * right``."""
    if isinstance(left, int) and isinstance(right, int):
        bits = abs(left).bit_length() + abs(right).bit_length()
        if bits > max_bits():
            raise too_many_digits(bits)
        return
    if isinstance(right, int) and isinstance(left, (str, bytes, list, tuple)):
        sequence, times = left, right
    elif isinstance(left, int) and isinstance(right, (str, bytes, list, tuple)):
        sequence, times = right, left
    else:
        return
    if times > 1:
        size = weight(sequence, limits.MAX_LENGTH // times + 1) * times
        if size > limits.MAX_LENGTH:
            raise too_long(size, "a text" if isinstance(sequence, (str, bytes)) else "a list")


def check_power(left: Any, right: Any) -> None:
    """``left ** right`` has about ``right * log2(left)`` bits."""
    if isinstance(left, int) and isinstance(right, int) and right > 1 and abs(left) > 1:
        bits = int(right * math.log2(abs(left)))
        if bits > max_bits():
            raise too_many_digits(bits)


# width and precision of a printf-style conversion: %[(name)][flags][width][.precision]
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.)", re.S)


def check_printf(text: str | bytes, args: Any) -> None:
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
            if size > limits.MAX_LENGTH:
                raise too_long(size)
        position += 1


def check_spec(spec: str) -> None:
    """A ``format`` spec (``>30``, ``0{width}d`` once resolved): no number past the limit."""
    for number in re.findall(r"\d+", spec):
        if int(number) > limits.MAX_LENGTH:
            raise too_long(int(number))


def replaced_length(text: str | bytes, old: Any, new: Any, count: Any) -> int:
    if not isinstance(old, (str, bytes)) or not isinstance(new, (str, bytes)):
        return len(text)
    if type(old) is not type(text) or (old and len(new) <= len(old)):
        return len(text)  # no longer than it was
    found = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(0, len(new) - len(old))


def check_method(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Methods of text that can make a long text from a number (``'a'.ljust(10**9)``) or
    from a few short ones (``x.replace('', x)``, ``sep.join(...)``): the length they
    would make, before they make it. Returns the arguments to call with (``join``'s
    items, once read)."""
    text = method.__self__
    name = method.__name__
    if name in ("ljust", "rjust", "center", "zfill"):
        width = args[0] if args else None
        if isinstance(width, int) and width > limits.MAX_LENGTH:
            raise too_long(width)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int):
            tabs = text.count("\t" if isinstance(text, str) else b"\t")
            if len(text) + tabs * size > limits.MAX_LENGTH:
                raise too_long(len(text) + tabs * size)
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        size = replaced_length(text, args[0], args[1], count)
        if size > limits.MAX_LENGTH:
            raise too_long(size)
    elif name == "join" and args:
        items = list(args[0])
        size = sum(weight(item) for item in items) + len(text) * max(0, len(items) - 1)
        if size > limits.MAX_LENGTH:
            raise too_long(size)
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, (str, bytes))), default=1)
        if len(text) * longest > limits.MAX_LENGTH:
            raise too_long(len(text) * longest)
    return args
