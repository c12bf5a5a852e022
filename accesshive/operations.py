"""One function per CLI command, composing the pipeline stages.

Why a layer between the CLI and the stages: the CLI only parses options and
renders; what a command *does* is here, callable from tests and other tools.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from accesshive.config import Config, load_config, locate
from accesshive.desired import DesiredState, expand
from accesshive.diagnostics import Diagnostic
from accesshive.errors import ConfigError


@dataclass(frozen=True)
class Validation:
    config: Config | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def load_and_expand(root: Path, today: dt.date) -> tuple[Config, DesiredState]:
    """Load and expand, raising ``ConfigError`` with every problem of both stages."""
    config = load_config(root)
    desired, problems = expand(config, today)
    if problems:
        raise ConfigError(locate(config, [*config.warnings, *problems]))
    return config, desired


def validate_repository(root: Path, today: dt.date) -> Validation:
    try:
        config, _ = load_and_expand(root, today)
    except ConfigError as exc:
        return Validation(None, exc.diagnostics)
    return Validation(config, config.warnings)
