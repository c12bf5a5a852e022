"""The one jinja environment account templates compile in (the sandbox, with the folding
filters), compiling a template, the names it reads, and the errors of templates.

Why a module of its own: validation (``config/validate.py``: which variables a template
reads), the fast path (``expand/fast_templates.py``: it parses with the same environment,
and leaves to jinja the names jinja resolves itself) and rendering
(``expand/templates.py``) all need the same environment and the same errors, without
needing each other.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache

import jinja2
from jinja2 import meta

from accesshive.expand import sandbox
from accesshive.expand.folding import ascii_remembered, or_fold, slug_remembered, to_ascii, to_slug
from accesshive.expand.plain_values import text_filter
from accesshive.expand.template_errors import TemplateProblem, TemplateRefused

__all__ = [
    "ENV",
    "TemplateProblem",
    "TemplateRefused",
    "compile_template",
    "is_template",
    "variables",
]


def _make_env() -> sandbox.Sandbox:
    env = sandbox.Sandbox(
        undefined=sandbox.Undefined, autoescape=False, keep_trailing_newline=False
    )
    # folding accents makes no text longer than a few times what it is given; it is
    # given plain data only, as the other filters that make text
    env.filters["ascii"] = text_filter(or_fold(ascii_remembered, to_ascii))
    env.filters["slug"] = text_filter(or_fold(slug_remembered, to_slug))
    return env


ENV = _make_env()


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
