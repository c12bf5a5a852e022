"""Load stage: a directory of YAML → a validated ``Config`` (see loader.py for the steps).

Why the names are imported on first use (PEP 562): the expand stage's ``templates`` and
``values`` are used by validation here, and themselves need ``config.model``; importing
one module of this package must not load the whole loader first (an import cycle), nor
make ``accesshive --version`` pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accesshive.config.config import Config
    from accesshive.config.loader import load_config, locate

_WHERE = {
    "Config": "accesshive.config.config",
    "load_config": "accesshive.config.loader",
    "locate": "accesshive.config.loader",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'accesshive.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["Config", "load_config", "locate"]
