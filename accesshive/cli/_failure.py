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
from accesshive.redaction import redact, redact_optional

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
        changes: bool = True,
    ) -> None:
        message = redact(message)  # a target's words may quote a secret it was sent
        hint = redact_optional(hint)
        super().__init__(message)
        self.kind = kind
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class
        self.as_json = as_json
        self.hint = hint
        self.diagnostics = diagnostics
        self.usage = usage
        self.changes = changes
        """Whether the command changes something (so "nothing was changed" is news)."""

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
            print_diagnostics(self.diagnostics, "text", ok=False, changes=self.changes)
        else:
            click.secho(f"Error: {self.message}", fg="red", err=True)


def failure(exc: BaseException, as_json: bool) -> Failure | None:
    """What ``exc`` means for the user, or None for a bug (which keeps its traceback)."""
    if isinstance(exc, Failure):
        return exc
    if isinstance(exc, click.UsageError):
        words = _words(exc.ctx) if exc.ctx is not None else []
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
        changes = _changes(_command(exc))
        if diagnostics:
            errors = sum(1 for d in diagnostics if d.is_error)
            if errors:  # the count the text output ends with: warnings are not problems
                message = f"{errors} problem{'s' if errors != 1 else ''} found in the configuration"
            message = f"{message}; nothing was changed" if changes else message
            hint = hint or _summary_hint(diagnostics)
        return Failure(kind, message, exc.exit_code, as_json, hint, diagnostics, changes=changes)
    if isinstance(exc, OSError) and exc.strerror:
        # a path the user gave that cannot be read or written: the user's to fix
        where = f"{exc.filename}: " if exc.filename else ""
        return Failure("file", f"{where}{exc.strerror}", EXIT_ERROR, as_json)
    return None


READ_ONLY = frozenset(
    {
        "status",
        "show",
        "graph",
        "schema",
        "report",
        "audit verify",
        "audit export",
        "state show",
        "tasks list",
        "approvals verify",
        "vault get",
        "vault list",
        "cache info",
        "console token list",
    }
)
"""Commands that change nothing, whatever they are given: a problem that stops one is shown
without "nothing was changed" (which ``validate`` and ``plan``, run in CI before ``apply``,
and every command that changes something, say). A command not named here says it."""


def _command(exc: BaseException) -> str:
    """The command that failed, as typed after ``accesshive`` ("audit verify"): the
    innermost click context on the way from the group to where ``exc`` was raised.

    Why from the traceback: a group's ``invoke`` sees the error after the subcommand's
    context has closed, and ``audit`` and the other groups of commands are click's own."""
    words = ""
    tb = exc.__traceback__
    while tb is not None:
        ctx = tb.tb_frame.f_locals.get("ctx")
        if isinstance(ctx, click.Context):
            words = " ".join(_words(ctx))
        tb = tb.tb_next
    return words


def _words(ctx: click.Context) -> list[str]:
    """The command's words after the program's name ("audit", "verify"), however the
    program was started (``accesshive``, ``python -m accesshive``)."""
    words: list[str] = []
    while ctx.parent is not None:
        words.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return words


def _changes(command: str) -> bool:
    return command not in READ_ONLY


def _summary_hint(diagnostics: tuple[Diagnostic, ...]) -> str | None:
    """The top-level hint of a JSON config error: the problem's own when there is one
    problem; with several, where each one's hint is (the first one's would mislead)."""
    errors = [d for d in diagnostics if d.is_error] or list(diagnostics)
    if len(errors) == 1:
        return errors[0].hint
    return f"{len(errors)} problems, each with its own hint under 'diagnostics'"


_LONG_WORD = re.compile(r"\S{80,}")


def _shorten(message: str) -> str:
    """A usage error quotes the value it refused: a 5,000-digit one is cut, so the error
    stays one readable line."""
    return _LONG_WORD.sub(lambda m: f"{m.group()[:40]}…({len(m.group())} characters)", message)


def print_diagnostics(
    diagnostics: tuple[Diagnostic, ...], fmt: str, ok: bool, changes: bool = True
) -> None:
    """Diagnostics, one ``file:line:column: error[code]`` block each (paths that open from
    the current directory), then how many errors; ``changes``: whether the command changes
    something, so that "nothing was changed" is worth saying. With ``fmt`` json, one
    object on stdout."""
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
    found = f"{errors} problem{'s' if errors != 1 else ''} found"
    if errors and changes:
        click.secho(f"Error: {found}; nothing was changed.", fg="red", err=True)
    elif errors > 1:  # one problem, shown above, is enough
        click.secho(f"Error: {found}.", fg="red", err=True)
