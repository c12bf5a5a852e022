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
from accesshive.plan.build import make_plan
from accesshive.plan.model import Plan
from accesshive.state.snapshot import Snapshot, load_snapshot


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


def plan_repository(
    root: Path,
    today: dt.date,
    snapshot_file: Path | None = None,
    allow_mass_changes: bool = False,
) -> Plan:
    """Load, expand, diff against the snapshot, and build the plan (nothing is written)."""
    config, desired = load_and_expand(root, today)
    snapshot = load_snapshot(snapshot_file) if snapshot_file else Snapshot()
    return make_plan(config, desired, snapshot, today, allow_mass_changes)
