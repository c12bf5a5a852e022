"""Load stage: a directory of YAML → a validated ``Config`` (see loader.py for the steps).

Why the names are imported on first use (PEP 562): the expand stage's ``templates`` and
``values`` are used by validation here, and themselves need ``config.model``; importing
one module of this package must not load the whole loader first (an import cycle), nor
make ``accesshive --version`` pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accesshive._lazy import lazy_exports

if TYPE_CHECKING:
    from accesshive.config.config import Config
    from accesshive.config.loader import load_config, locate

_WHERE = {
    "Config": "accesshive.config.config",
    "load_config": "accesshive.config.loader",
    "locate": "accesshive.config.loader",
}


__getattr__ = lazy_exports(__name__, _WHERE)

__all__ = ["Config", "load_config", "locate"]
