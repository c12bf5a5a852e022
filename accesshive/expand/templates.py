"""Sandboxed jinja2 templates for account attributes.

Why sandboxed and strict: templates are written in pull requests by many
people and rendered by the tool that holds provisioning credentials, so they
get no access to Python internals (``ImmutableSandboxedEnvironment``), cannot make
huge values or run for long (the limits of ``expand/limits.py``: a template that
breaks either is refused with ``TemplateRefused``), and a variable an identity lacks
is an error, never a silently empty userName.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError

from accesshive.config.model import Identity
from accesshive.expand import limits, sandbox

# Variables every identity offers besides its attributes.
BUILTIN_VARIABLES = frozenset(
    {"id", "type", "display_name", "lifecycle_state", "owner", "attributes"}
)


# Letters that Unicode does not decompose into a base letter plus an accent.
_TRANSLITERATE = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
        "ı": "i",
        "ħ": "h",
        "Ħ": "H",
        "ŀ": "l",
        "Ŀ": "L",
    }
)


def _ascii(value: str) -> str:
    """Fold accents away (Zoë → Zoe, Bjørn → Bjorn, Straße → Strasse): directories often
    refuse non-ASCII names."""
    text = str(value).translate(_TRANSLITERATE)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug(value: str, sep: str = ".") -> str:
    """Lowercase ASCII with runs of other characters replaced by ``sep``."""
    return re.sub(r"[^a-z0-9]+", sep, _ascii(value).lower()).strip(sep)


# names, departments and sites repeat across an org: each distinct one is folded once
_ascii_remembered = lru_cache(maxsize=1 << 16)(_ascii)
_slug_remembered = lru_cache(maxsize=1 << 16)(_slug)


def _or_fold(remembered: Callable[..., str], fold: Callable[..., str]) -> Callable[..., str]:
    """``remembered`` as a jinja filter: anything but text is folded every time."""

    def run(*args: Any) -> str:
        # only text is remembered: 1.0 and True are equal keys that fold differently
        if all(type(arg) is str for arg in args):
            return remembered(*args)
        return fold(*args)

    return run


def _make_env() -> sandbox.Sandbox:
    env = sandbox.Sandbox(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    # folding accents makes no text longer than a few times what it is given
    env.filters["ascii"] = _or_fold(_ascii_remembered, _ascii)
    env.filters["slug"] = _or_fold(_slug_remembered, _slug)
    return env


ENV = _make_env()


class TemplateProblem(Exception):
    """A template cannot be compiled or rendered; the message is meant for users."""


class TemplateRefused(TemplateProblem):
    """The sandbox refused to render a template: it reached for Python internals
    (``kind`` ``sandbox``), or went past a limit of ``expand/limits.py`` on what a
    render may make or how long it may run (``limit``). The message says which, and
    is about the template, not the identity it was rendered for."""

    def __init__(
        self, kind: Literal["sandbox", "limit"], reason: str, *, timed_out: bool = False
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.timed_out = timed_out


def is_template(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@lru_cache(maxsize=8192)
def compile_template(text: str) -> jinja2.Template:
    try:
        template = ENV.bound(text)  # with the sandbox's limits
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}") from exc
    except ValueError as exc:  # jinja's lexer: a number literal past int()'s digit limit
        raise TemplateProblem(_literal_problem(exc)) from exc
    # jinja keeps a template's globals as a ChainMap over the environment's, and copies
    # them into a new dict on every render: through the ChainMap, that copy was half of
    # each render. Nothing changes the globals after this, so one plain dict serves.
    template.globals = dict(template.globals)
    return template


@lru_cache(maxsize=8192)
def variables(text: str) -> frozenset[str]:
    """Names a template reads from its context."""
    try:
        return frozenset(meta.find_undeclared_variables(ENV.parse(text)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}") from exc
    except ValueError as exc:
        raise TemplateProblem(_literal_problem(exc)) from exc


def _literal_problem(exc: ValueError) -> str:
    """What jinja's lexer raising ``ValueError`` means for the user: Python refuses to read
    an integer of more than ``sys.get_int_max_str_digits()`` digits (a guard against
    quadratic-time conversion), and jinja lets that escape instead of a syntax error."""
    digits = re.search(r"value has (\d+) digits", str(exc))
    size = f"{digits.group(1)} digits" if digits else "too many digits"
    return (
        f"template syntax error: a number literal of {size}; the limit is "
        f"{sys.get_int_max_str_digits()}"
    )


def identity_context(identity_id: str, identity: Identity) -> dict[str, Any]:
    """What a template sees: the identity's attributes, plus its id, type and the like."""
    return {
        **identity.attributes,
        "id": identity_id,
        "type": identity.type,
        "display_name": identity.display_name,
        "lifecycle_state": identity.lifecycle_state,
        "owner": identity.owner,
        "attributes": identity.attributes,
    }


Renderer = Callable[[Mapping[str, Any]], str]

# Filters the fast path knows; each does exactly what the jinja filter of that name does.
_FAST_FILTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "trim": str.strip,
    "ascii": _ascii_remembered,  # always given text here
    "slug": _slug_remembered,
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


_JINJA_NAMES = frozenset({*ENV.globals, "self"})
"""Names jinja resolves itself: its globals, and ``self`` (the template)."""


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


def renderer(value: str | int | bool) -> Callable[[Mapping[str, Any]], str | int | bool]:
    """``render`` for one template, with the lookups it does on every call done once: what
    expand uses for the hundreds of thousands of accounts that share a source's templates."""
    if not is_template(value):
        return lambda _: value
    assert isinstance(value, str)
    fast = fast_renderer(value)
    if fast is not None:
        return lambda context: fast(context).strip()
    timed_out: list[TemplateRefused] = []

    def slow(context: Mapping[str, Any]) -> str | int | bool:
        # a template that ran out of time once is refused at once from then on: rendered
        # for every identity, it would take the time limit times 100,000
        if timed_out:
            first = timed_out[0]
            raise TemplateRefused(first.kind, first.reason, timed_out=True)
        try:
            return render(value, context)
        except TemplateRefused as refused:
            if refused.timed_out:
                timed_out.append(refused)
            raise

    return slow


def render(value: str | int | bool, context: Mapping[str, Any]) -> str | int | bool:
    """Render a template value; plain values pass through unchanged."""
    if not is_template(value):
        return value
    assert isinstance(value, str)
    fast = fast_renderer(value)
    if fast is not None:
        return fast(context).strip()
    names, results = _memo(value)
    if len(results) >= MEMO_LIMIT:  # values of each person's own: the memo would not help
        return _render_jinja(value, context)
    try:
        # each value with its type: 1, 1.0 and True are equal keys that render differently
        key = tuple([(type(v), v) for v in [context.get(name, _MISSING) for name in names]])
        return results[key]
    except KeyError:
        pass
    except TypeError:  # a value that cannot be a key (a list): render it every time
        key = None
    rendered = _render_jinja(value, context)
    if key is not None:
        results[key] = rendered
    return rendered


_MISSING = object()
MEMO_LIMIT = 8192
"""Results kept per template: enough for the departments, titles and types of an org;
a template of per-person values (a manager's DN) stops being remembered at the limit."""


@lru_cache(maxsize=1024)
def _memo(text: str) -> tuple[tuple[str, ...], dict[tuple[Any, ...], str]]:
    """The variables a template reads, and its results by their values.

    Why: a jinja render builds a new context each time (tens of microseconds), and
    a large org renders the same conditional template (``{% if type == 'human' %}
    {{ title }}{% endif %}``) hundreds of thousands of times over a few hundred
    distinct inputs. The sandbox has no state, so the same values of the variables it
    reads give the same text (a render it refuses gives none, and is not kept).
    """
    try:
        names = tuple(sorted(variables(text)))
    except TemplateProblem:
        names = ()
    return names, {}


def _render_jinja(value: str, context: Mapping[str, Any]) -> str:
    template = compile_template(value)
    try:
        # what Template.render does, less its two copies of the context: one merged
        # dict of the globals and the identity's values serves as the context whole
        scope = template.new_context({**template.globals, **context}, shared=True)
        sandbox.start(scope)
        text = template.environment.concat(template.root_render_func(scope))
        if len(text) > limits.MAX_LENGTH:
            raise limits.Refused(
                "limit", f"writes more than {limits.MAX_LENGTH:,} characters, the limit"
            )
        return text.strip()
    except limits.Refused as exc:
        raise TemplateRefused(exc.kind, exc.reason, timed_out=exc.timed_out) from None
    except SecurityError as exc:
        raise TemplateRefused("sandbox", str(exc).rstrip(".")) from None
    except RecursionError:
        raise TemplateRefused("limit", "calls itself too deeply (macros or loops)") from None
    except MemoryError:
        raise TemplateRefused("limit", "ran out of memory") from None
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(_undefined_message(exc)) from exc
    except jinja2.TemplateError as exc:
        raise TemplateProblem(f"template failed: {exc}") from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateProblem(f"template failed: {exc}") from exc


def _undefined_message(exc: jinja2.UndefinedError) -> str:
    m = re.search(r"'([^']+)' is undefined", str(exc))
    if m:
        return f"has no attribute '{m.group(1)}'"
    return f"template failed: {exc.message}"
