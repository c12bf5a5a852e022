"""Resolving secret references in connection settings: ``${env:NAME}``, ``${file:PATH}``.

Resolution happens only inside connectors, at the moment of connecting, so a
secret's value never travels through config, plans or logs. Every value resolved is
registered with ``accesshive.redaction`` under its reference, so that a target echoing it
back (in an error, a detail) never puts it in a message, the store or the audit log.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from accesshive.config.secrets import REFERENCE
from accesshive.errors import ConnectorError
from accesshive.private_files import open_to_others
from accesshive.redaction import register


def resolve(
    value: Any, source: str, root: Path, environ: Mapping[str, str], *, secret: bool = True
) -> Any:
    """The value a reference points at; other values pass through unchanged. A resolved
    value is a secret (redacted from then on) unless ``secret`` is False (a path the
    runner gives, such as a manual source's export)."""
    if not isinstance(value, str):
        return value
    match = REFERENCE.match(value.strip())
    if not match:
        return value
    resolved = _resolved(match, value, source, root, environ)
    if secret:
        register(resolved, value.strip())
    return resolved


def _resolved(
    match: re.Match[str], value: str, source: str, root: Path, environ: Mapping[str, str]
) -> str:
    scheme, target = match.group(1), match.group(2)
    if scheme == "env":
        if target not in environ:
            raise ConnectorError(
                source, f"environment variable {target} is not set (referenced as {value})"
            )
        return environ[target]
    if scheme == "file":
        path = Path(target) if Path(target).is_absolute() else root / target
        return _read_secret_file(path, source, value)
    raise ConnectorError(
        source,
        f"{value}: vault references are resolved by the credential vault, which this "
        "source cannot use yet",
    )


def _read_secret_file(path: Path, source: str, reference: str) -> str:
    """The secret in ``path``, refused when others can read it (as ssh refuses such a
    private key): a secret readable by every local user is a leaked secret, and saying
    so once is better than using it quietly. Opened once and checked on that open file,
    so the file checked is the file read."""
    try:
        with open(path, encoding="utf-8") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if open_to_others(mode):
                raise ConnectorError(
                    source,
                    f"the secret file {path} ({reference}) has mode "
                    f"{stat.S_IMODE(mode):04o}: its group or others can read or write it, "
                    f"so accesshive refuses it; make it readable by you only with "
                    f"`chmod 600 {path}` (and rotate the secret if others could read it)",
                )
            return handle.read().strip()
    except OSError as exc:
        raise ConnectorError(source, f"cannot read {path} ({exc.strerror})") from exc
