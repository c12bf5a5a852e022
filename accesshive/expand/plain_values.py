"""What a template may write: plain data, the same every run. ``plain`` refuses anything
else, and ``UNAVAILABLE`` names what jinja offers that would give another value each run.

Why: a plan is byte-identical for the same inputs, and ``apply`` re-plans to check the
plan it is given was not forged. A template that writes ``{{ email.upper }}`` (the
method, not called) writes ``<built-in method upper of str object at 0x7f...>``: a
memory address, another one each run, and a Python detail leaked into an account; one
that writes ``{{ lipsum(2) }}`` or ``{{ groups|random }}`` draws a new value each run.
Each is refused (``TemplateRefused`` of kind ``value``), at the template, with what to do.

Plain data is what identity attributes hold (``config/model.py``: text, numbers,
true/false, dates) and none, and lists, tuples and mappings of them: a template is
given nothing else (identity attributes; a pushed SCIM user's JSON; a CSV row's text),
so the fast path (``expand/fast_templates.py``), which only writes what it is given, writes
plain data by construction. The sandbox (``expand/sandbox.py``) checks every value a
``{{ }}`` writes (its ``finalize``) and every value it turns into text on the way: ``~``
(``expand/rewrite.py``: ``concat``), ``%``, ``str.format`` and the filters that make
text (``TEXT_FILTERS``).
"""

from __future__ import annotations

import datetime as dt
import inspect
import types
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.filters import make_attrgetter
from jinja2.runtime import Macro

from accesshive.expand.template_errors import TemplateRefused

PLAIN_SCALARS = (str, int, float, bool, type(None), dt.date)
"""Values a template may write: what identity attributes hold (a ``datetime`` is a
``date``), and none."""

SAME_EVERY_RUN = "templates must give the same value every run"

UNAVAILABLE: dict[str, str] = {"lipsum": f"`lipsum` is not available: {SAME_EVERY_RUN}"}
"""jinja's globals a template does not get, and why (``expand/sandbox.py`` leaves them
out; a template that names one is refused with this, unless the identity has an
attribute of that name)."""

VALUE_HINT = (
    "a template writes text, numbers, true/false, dates, or lists of them, the same every "
    "run: call methods (`x.upper()`), join lists (`|join(', ')`), draw nothing at random"
)
"""The hint of a template refused for what it writes (``expand/accounts.py``,
``config/validate.py``)."""

RANDOM_FILTER = f"the `random` filter is not available: {SAME_EVERY_RUN}"

TEXT_FILTERS = frozenset(
    {
        *("capitalize", "center", "e", "escape", "forceescape", "format", "indent"),
        *("lower", "pprint", "replace", "safe", "string", "striptags", "title", "trim"),
        *("truncate", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr"),
        *("ascii", "slug", "_shorter_replace"),
    }
)
"""Filters that turn what they are given (and their arguments) into text: each is given
plain data only (``text_filter``). ``join`` checks the items it joins
(``joined_items``); the others take lists, iterators or functions and give back values
that are checked where they are written."""


def plain(value: Any) -> Any:
    """``value``, when it is plain data; else ``TemplateRefused`` saying what it is and what
    to write instead."""
    if type(value) is str:
        return value
    problem = _not_plain(value)
    if problem is not None:
        raise problem
    return value


class _Uncalled(TemplateRefused):
    """A method written instead of called; ``as_written`` names it as the template does."""

    def __init__(self, reason: str, method: str) -> None:
        super().__init__("value", reason)
        self.method = method


def as_written(refused: TemplateRefused, text: str, parse: Callable[[str], Any]) -> TemplateRefused:
    """``refused``, its example named as the template writes the method (``email.upper``
    rather than ``x.upper``), when it is about one written as ``name.method``."""
    method = getattr(refused, "method", None)
    if method is None:
        return refused
    tree = parse(text)
    called = {id(call.node) for call in tree.find_all(nodes.Call)}
    for node in tree.find_all(nodes.Getattr):
        if node.attr == method and isinstance(node.node, nodes.Name) and id(node) not in called:
            reason = refused.reason.replace("`x.", f"`{node.node.name}.")
            return TemplateRefused("value", reason)
    return refused


def text_filter(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that makes text, given plain data only (its value and its arguments)."""
    if hasattr(fn, "jinja_pass_arg"):  # its first argument is jinja's context

        @wraps(fn)  # keeps jinja_pass_arg
        def passing(first: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            if type(value) is not str:
                plain(value)
            if args or kwargs:
                _plain_arguments(args, kwargs)
            return fn(first, value, *args, **kwargs)

        return passing

    @wraps(fn)
    def run(value: Any, *args: Any, **kwargs: Any) -> Any:
        if type(value) is not str:
            plain(value)
        if args or kwargs:
            _plain_arguments(args, kwargs)
        return fn(value, *args, **kwargs)

    return run


def _plain_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for arg in args:
        plain(arg)
    for arg in kwargs.values():
        plain(arg)


def joined_items(fn: Callable[..., Any]) -> Callable[..., Any]:
    """jinja's ``join``, given plain items and a plain separator: the items it joins are
    the attribute it is asked for (``join(', ', attribute='upper')`` would join methods),
    read once, into a list, as ``join`` reads them too."""

    @wraps(fn)  # keeps jinja_pass_arg (the eval context)
    def run(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> Any:
        if attribute is not None:
            value = map(make_attrgetter(eval_ctx.environment, attribute), value)
        if isinstance(value, Iterable) and not isinstance(value, str):
            value = list(value)
            for item in value:
                if type(item) is not str:
                    plain(item)
        return fn(eval_ctx, value, plain(d))

    return run


def _not_plain(value: Any) -> TemplateRefused | None:
    """What is wrong with ``value`` as something to write; None when it is plain data."""
    if isinstance(value, PLAIN_SCALARS):
        return None
    if isinstance(value, jinja2.Undefined):  # jinja says what is missing when it writes it
        return None
    if isinstance(value, (list, tuple)):
        for item in value:
            problem = _not_plain(item)
            if problem is not None:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _not_plain(key) or _not_plain(item)
            if problem is not None:
                return problem
        return None
    return _what(value)


def _what(value: Any) -> TemplateRefused:
    if isinstance(value, (types.BuiltinMethodType, types.MethodType)) and not isinstance(
        getattr(value, "__self__", None), (types.ModuleType, type(None))
    ):
        name = value.__name__
        return _Uncalled(
            f"renders the method `{name}`, not a value: call it, e.g. `x.{name}()`, not `x.{name}`",
            name,
        )
    if inspect.isroutine(value) or isinstance(value, (type, Macro)):
        name = _global_name(value)
        return TemplateRefused(
            "value", f"renders the function `{name}`, not a value: call it, e.g. `{name}(...)`"
        )
    kind = type(value).__name__
    if isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        return TemplateRefused(
            "value",
            f"renders a {kind}, not a value: make it a list with `|list`, "
            "or text with `|join(', ')`",
        )
    return TemplateRefused(
        "value",
        f"renders a {kind} object, not a value: a template writes text, numbers, "
        "true/false, dates, none, or lists and mappings of them",
    )


def _global_name(fn: Any) -> str:
    """The name a template calls ``fn`` by: a global's (``cycler``, not ``Cycler``), a
    macro's, else its own."""
    if isinstance(fn, Macro):
        return fn.name
    from accesshive.expand.compiling import ENV  # the sandbox imports this module

    for name, value in ENV.globals.items():
        if value is fn:
            return name
    return str(getattr(fn, "__name__", type(fn).__name__))
