"""The errors of templates: ``TemplateProblem`` (a template that cannot be compiled or
rendered) and ``TemplateRefused`` (one the sandbox stopped).

Why a module of its own, below every other module of templates: the sandbox's limits
(``expand/limits.py``) raise ``TemplateRefused`` where a render goes past them, and
``expand/compiling.py`` imports the sandbox; defined here, the one exception is raised
where the limit is met and reaches the caller as it is, with no second class of the same
shape to translate it from. Callers import them from ``expand/templates.py`` (or
``expand/compiling.py``), where they always were.
"""

from __future__ import annotations

from typing import Literal


class TemplateProblem(Exception):
    """A template cannot be compiled or rendered; the message is meant for users."""


class TemplateRefused(TemplateProblem):
    """The sandbox refused to render a template: it reached for Python internals
    (``kind`` ``sandbox``: jinja's ``SecurityError``, turned into this by
    ``expand/templates.py``), or went past a limit of ``expand/limits.py`` on what a
    render may make or how long it may run (``limit``; ``timed_out`` for the time
    limit), or would not write the same plain value every run (``value``:
    ``expand/plain_values.py``). The message says which, and is about the template, not
    the identity it was rendered for."""

    def __init__(
        self,
        kind: Literal["sandbox", "limit", "value"],
        reason: str,
        *,
        timed_out: bool = False,
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.timed_out = timed_out
