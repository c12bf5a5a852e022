"""accesshive: identity provisioning as code.

The public surface is small on purpose: load a config repository, get its
diagnostics. Each pipeline stage has its own package or module (see ARCHITECTURE.md,
"The stage table").
"""

from accesshive.config import load_config
from accesshive.diagnostics import Diagnostic, Location, Severity
from accesshive.errors import AccessHiveError, ConfigError

__version__ = "0.1.0"

__all__ = [
    "AccessHiveError",
    "ConfigError",
    "Diagnostic",
    "Location",
    "Severity",
    "__version__",
    "load_config",
]
