"""Names a package exports but imports on first use (PEP 562 ``__getattr__``).

Why: ``accesshive`` and ``accesshive.config`` are imported by every command, and what
they export pulls in the configuration models and their libraries; a command that does
not need them (``--version``, ``--help``) must not pay for them, and a module of the
package must be importable without loading the whole package first (import cycles).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: each name of ``where`` (name → module) is
    imported from its module when first asked for, then kept in the package."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
