"""Resolving secret references in connection settings: ``${env:NAME}``, ``${file:PATH}``.

Resolution happens only inside connectors, at the moment of connecting, so a
secret's value never travels through config, plans or logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from accesshive.config.secrets import REFERENCE
from accesshive.errors import ConnectorError


def resolve(value: Any, source: str, root: Path, environ: Mapping[str, str]) -> Any:
    """The value a reference points at; other values pass through unchanged."""
    if not isinstance(value, str):
        return value
    match = REFERENCE.match(value.strip())
    if not match:
        return value
    scheme, target = match.group(1), match.group(2)
    if scheme == "env":
        if target not in environ:
            raise ConnectorError(
                source, f"environment variable {target} is not set (referenced as {value})"
            )
        return environ[target]
    if scheme == "file":
        path = Path(target) if Path(target).is_absolute() else root / target
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConnectorError(source, f"cannot read {path} ({exc.strerror})") from exc
    raise ConnectorError(
        source,
        f"{value}: vault references are resolved by the credential vault, which this "
        "source cannot use yet",
    )
