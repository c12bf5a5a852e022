"""accesshive: identity provisioning as code.

The public surface is small on purpose: load a config repository, get its
diagnostics. Each pipeline stage has its own package or module (see ARCHITECTURE.md,
"The stage table").

Why the names below are imported on first use (PEP 562): every ``accesshive`` command
imports this package first, and ``accesshive --version`` (or a command that reads no
configuration) should not pay for the configuration models and their libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accesshive._lazy import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from accesshive.diagnostics import Diagnostic, Location, Severity
    from accesshive.errors import AccessHiveError, ConfigError
    from accesshive.pipeline import load_config

_WHERE = {
    "AccessHiveError": "accesshive.errors",
    "ConfigError": "accesshive.errors",
    "Diagnostic": "accesshive.diagnostics",
    "Location": "accesshive.diagnostics",
    "Severity": "accesshive.diagnostics",
    "load_config": "accesshive.pipeline",
}


__getattr__ = lazy_exports(__name__, _WHERE)

__all__ = [
    "AccessHiveError",
    "ConfigError",
    "Diagnostic",
    "Location",
    "Severity",
    "__version__",
    "load_config",
]
