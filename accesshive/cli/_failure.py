"""What a command's failure means for the user, shown one way for every command.

An ``AccessHiveError``, a usage error, an unreadable or unwritable path: ``Error: ...`` (and
a runnable hint) on stderr with the error's exit code, or with ``--format json`` one JSON
object on stdout. Anything else is a bug and keeps its traceback.

Why a module of its own: ``AccessHiveGroup.invoke`` imports it only when a command
failed, so a run that succeeds (and ``--version``) does not load the error kinds.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import click

from accesshive.cli._repository import HINT, runnable
from accesshive.errors import (
    EXIT_ERROR,
    AccessHiveError,
    ApprovalError,
    ConfigError,
    ConnectorError,
    ForgedPlanError,
    GuardrailError,
    ImportProblem,
    LockedError,
    PlanError,
    PlanFileError,
    PromotionError,
    SnapshotError,
    StalePlanError,
    StoreError,
    SyncError,
    VaultError,
)

if TYPE_CHECKING:
    from accesshive.diagnostics import Diagnostic

_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (GuardrailError, "guardrail"),
    (PlanError, "plan"),
    (StalePlanError, "stale_plan"),
    (ForgedPlanError, "forged_plan"),
    (PlanFileError, "plan_file"),
    (LockedError, "locked"),
    (StoreError, "store"),
    (ConfigError, "config"),
    (SnapshotError, "snapshot"),
    (ConnectorError, "connector"),
    (SyncError, "sync"),
    (VaultError, "vault"),
    (ApprovalError, "approval"),
    (PromotionError, "promotion"),
    (ImportProblem, "import"),
    (AccessHiveError, "error"),
)
"""The ``kind`` of a JSON error, most specific first: stable names, documented in the
README, so scripts can branch on them."""


class Failure(click.ClickException):
    """Any failure of a command, shown one way: ``Error: message`` (and a hint) on stderr,
    or with ``--format json`` one JSON object on stdout, ``{"error": {"kind", "message",
    "hint", "exit_code"}}`` (config errors add ``ok`` and ``diagnostics``)."""

    def __init__(
        self,
        kind: str,
        message: str,
        exit_code: int,
        as_json: bool,
        hint: str | None = None,
        diagnostics: tuple[Diagnostic, ...] | None = None,
        usage: click.UsageError | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class
        self.as_json = as_json
        self.hint = hint
        self.diagnostics = diagnostics
        self.usage = usage

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "error": {
                "kind": self.kind,
                "message": self.message,
                "hint": self.hint,
                "exit_code": self.exit_code,
            }
        }
        if self.diagnostics is not None:
            body["ok"] = False
            body["diagnostics"] = [d.to_json() for d in self.diagnostics]
        return body

    def show(self, file: Any = None) -> None:
        if self.as_json:
            click.echo(json.dumps(self.to_json(), indent=2, sort_keys=True))
        elif self.usage is not None:
            self.usage.show(file)
        elif self.diagnostics is not None:
            print_diagnostics(self.diagnostics, "text", ok=False)
        else:
            click.secho(f"Error: {self.message}", fg="red", err=True)


def failure(exc: BaseException, as_json: bool) -> Failure | None:
    """What ``exc`` means for the user, or None for a bug (which keeps its traceback)."""
    if isinstance(exc, Failure):
        return exc
    if isinstance(exc, click.UsageError):
        words = exc.ctx.command_path.split()[1:] if exc.ctx is not None else []
        path = " ".join(["accesshive", *words])
        exc.message = _shorten(runnable(exc.message))  # type: ignore[misc]  # shown next
        return Failure(
            "usage", exc.format_message(), exc.exit_code, as_json, f"`{path} --help`", usage=exc
        )
    if isinstance(exc, click.ClickException):
        return Failure("file", exc.format_message(), exc.exit_code, as_json)
    if isinstance(exc, click.Abort):
        return Failure("aborted", "aborted", EXIT_ERROR, as_json)
    if isinstance(exc, AccessHiveError):
        kind = next(name for cls, name in _KINDS if isinstance(exc, cls))
        message = runnable(str(exc))
        found = HINT.search(message)
        hint = getattr(exc, "hint", None) or (found.group(0) if found else None)
        diagnostics = exc.diagnostics if isinstance(exc, ConfigError) else None
        if diagnostics:
            message = f"{message}; nothing was changed"
            hint = hint or next((d.hint for d in diagnostics if d.hint), None)
        return Failure(kind, message, exc.exit_code, as_json, hint, diagnostics)
    if isinstance(exc, OSError) and exc.strerror:
        # a path the user gave that cannot be read or written: the user's to fix
        where = f"{exc.filename}: " if exc.filename else ""
        return Failure("file", f"{where}{exc.strerror}", EXIT_ERROR, as_json)
    return None


_LONG_WORD = re.compile(r"\S{80,}")


def _shorten(message: str) -> str:
    """A usage error quotes the value it refused: a 5,000-digit one is cut, so the error
    stays one readable line."""
    return _LONG_WORD.sub(lambda m: f"{m.group()[:40]}…({len(m.group())} characters)", message)


def print_diagnostics(diagnostics: tuple[Diagnostic, ...], fmt: str, ok: bool) -> None:
    if fmt == "json":
        click.echo(
            json.dumps(
                {"ok": ok, "diagnostics": [d.to_json() for d in diagnostics]},
                indent=2,
                sort_keys=True,
            )
        )
        return
    for d in diagnostics:
        colour = "red" if d.is_error else "yellow"
        click.secho(d.render(), fg=colour, err=True)
    errors = sum(1 for d in diagnostics if d.is_error)
    if errors:
        click.secho(
            f"Error: {errors} problem{'s' if errors != 1 else ''} found; nothing was changed.",
            fg="red",
            err=True,
        )
