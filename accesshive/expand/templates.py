"""Sandboxed jinja2 templates for account attributes: ``render`` and ``renderer``.

Why sandboxed and strict: templates are written in pull requests by many
people and rendered by the tool that holds provisioning credentials, so they
get no access to Python internals (``ImmutableSandboxedEnvironment``), cannot make
huge values or run for long (the limits of ``expand/limits.py``: a template that
breaks either is refused with ``TemplateRefused``), and a variable an identity lacks
is an error, never a silently empty userName.

A template renders by the fast path when it only reads variables
(``expand/fast_templates.py``), else in the sandbox, compiled once
(``expand/compiling.py``: ``compile_template``) with its results remembered by the values
it reads (``_memo``). The errors of templates (``TemplateProblem``, ``TemplateRefused``)
are defined in ``expand/template_errors.py`` and are importable from here, where most callers
meet them: they are what ``render`` raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from accesshive.config.model import Identity
from accesshive.expand import limits, sandbox
from accesshive.expand.compiling import (
    TemplateProblem,
    TemplateRefused,
    compile_template,
    is_template,
    variables,
)
from accesshive.expand.fast_templates import fast_renderer
from accesshive.expand.plain_values import as_written

__all__ = [
    "BUILTIN_VARIABLES",
    "MEMO_LIMIT",
    "TemplateProblem",
    "TemplateRefused",
    "identity_context",
    "render",
    "renderer",
]

# Variables every identity offers besides its attributes.
BUILTIN_VARIABLES = frozenset(
    {"id", "type", "display_name", "lifecycle_state", "owner", "attributes"}
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
            raise limits.over_limit(f"writes more than {limits.MAX_LENGTH:,} characters, the limit")
        return text.strip()
    except SecurityError as exc:
        raise TemplateRefused("sandbox", str(exc).rstrip(".")) from None
    except TemplateRefused as refused:
        raise as_written(refused, value, template.environment.parse) from None
    except RecursionError:
        raise TemplateRefused("limit", "calls itself too deeply (macros or loops)") from None
    except MemoryError:
        raise TemplateRefused("limit", "ran out of memory") from None
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(_undefined_message(exc)) from exc
    except jinja2.TemplateError as exc:
        raise TemplateProblem(f"template failed: {exc}") from exc
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
        # what a filter or an operator raises given the wrong kind of value
        # (``x|dictsort`` of text, ``'%(k)s' % {}``): a problem of the template, not a crash
        raise TemplateProblem(f"template failed: {exc}") from exc


def _undefined_message(exc: jinja2.UndefinedError) -> str:
    m = re.search(r"'([^']+)' is undefined", str(exc))
    if m:
        return f"has no attribute '{m.group(1)}'"
    return f"template failed: {exc.message}"
