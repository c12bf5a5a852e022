"""What the commands share: common options (``-C/--dir`` and ``[DIR]``, ``--format``,
``--env``/``--store``, ``--today``, ``--no-color``), the group whose one error handler turns
every failure into ``Error: ...`` (or a JSON object) and its exit code, the rewriting of
printed hints so they run as printed, and small helpers (who the actor is, which day it is).

Why one module: every command module imports these, and none of them imports a command.
"""

from __future__ import annotations

import datetime as dt
import getpass
import importlib
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from accesshive.diagnostics import Diagnostic
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

F = TypeVar("F", bound=Callable[..., Any])

REPOSITORY_HELP = (
    "The config repository (default: the current directory; with a plan file, the "
    "directory holding it when the current one is not a repository)."
)

_WHERE: ContextVar[tuple[str, ...]] = ContextVar("accesshive_where", default=())
"""The options that point a command at the repository and store this run uses (``-C DIR``,
``--env``, ``--store``): what every printed hint needs to be runnable as printed."""


def repository_options(
    positional: bool = True, help_text: str = REPOSITORY_HELP, not_dir_hint: str = ""
) -> Callable[[F], F]:
    """How every command finds its config repository: ``-C/--dir DIR``, default the current
    directory (or, for a command given a plan file, the directory holding it when the
    current one holds no ``accesshive.yaml``). Commands whose subject is the repository
    itself (``plan``, ``status``, ``sync`` ...) also take it as the optional argument
    ``[DIR]``; any other positional argument is what the command acts on. ``not_dir_hint``
    says what a user who gave something else as DIR probably meant.

    Why one decorator: the repository is then found one way everywhere, a hint printed by
    any command can name it with ``-C``, and a command added later gets the same.
    The function receives ``directory: Path``, never None.
    """

    def decorate(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given: Path | None = kwargs.pop("repository", None)
            option: Path | None = kwargs.get("directory")
            more = f" ({not_dir_hint})" if not_dir_hint else ""
            if given is not None and option is not None:
                raise click.UsageError(
                    f"give the repository once: '{given}' or -C '{option}'{more}"
                )
            if given is not None and not given.is_dir():
                raise click.BadParameter(f"'{given}' is not a directory{more}", param_hint="DIR")
            plan_file = kwargs.get("plan_file", kwargs.get("target"))
            directory = given or option or _default_repository(plan_file)
            kwargs["directory"] = directory
            _WHERE.set(_where(directory, kwargs))
            return func(*args, **kwargs)

        help_more = " Also accepted as the argument DIR." if positional else ""
        command = click.option(
            "-C",
            "--dir",
            "directory",
            type=click.Path(file_okay=False, exists=True, path_type=Path),
            default=None,
            metavar="DIR",
            help=help_text + help_more,
        )(wrapper)
        if positional:
            command = click.argument(
                "repository",
                metavar="[DIR]",
                required=False,
                type=click.Path(file_okay=False, path_type=Path),
            )(command)
        return command  # type: ignore[return-value]

    return decorate


repo_argument = repository_options()
"""``[DIR]`` or ``-C DIR``: for commands whose subject is the repository."""


def dir_option(help_text: str = REPOSITORY_HELP) -> Callable[[F], F]:
    """``-C/--dir DIR`` only: for commands whose argument is something else (a plan file,
    a task or identity id)."""
    return repository_options(positional=False, help_text=help_text)


def hints_point_at(directory: Path) -> None:
    """For a command that learns its repository later than its options (``apply DIR
    --auto-approve``): hints printed from now on name ``directory``."""
    ctx = click.get_current_context(silent=True)
    _WHERE.set(_where(directory, ctx.params if ctx is not None else {}))


def _default_repository(plan_file: object) -> Path:
    here = Path(".")
    if (
        isinstance(plan_file, Path)
        and plan_file.is_file()
        and not (here / "accesshive.yaml").is_file()
        and (plan_file.parent / "accesshive.yaml").is_file()
    ):
        return plan_file.parent
    return here


def _where(directory: Path, params: dict[str, Any]) -> tuple[str, ...]:
    """``-C DIR`` unless DIR is the current directory; ``--env`` and ``--store`` when they
    were given on the command line (from the environment they reach the hint's run too),
    a store URL only when it holds no password: hints are printed, secrets are not."""
    where: list[str] = []
    try:
        elsewhere = directory.resolve() != Path.cwd().resolve()
    except OSError:
        elsewhere = True
    if elsewhere:
        where += ["-C", str(directory)]
    ctx = click.get_current_context(silent=True)
    for name, flag in (("environment", "--env"), ("store_url", "--store")):
        value = params.get(name)
        if not value or ctx is None:
            continue
        if ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            continue
        if name == "store_url" and urlsplit(str(value)).password:
            continue
        where += [flag, str(value)]
    return tuple(where)


_HINT = re.compile(r"`accesshive ([^`]*)`")


def runnable(text: str) -> str:
    """``text`` with every backticked ``accesshive ...`` command given the ``-C DIR``,
    ``--env`` and ``--store`` of this run, where the command takes them and does not name
    them already: a hint is then runnable as printed from where the user is."""
    where = _WHERE.get()
    ctx = click.get_current_context(silent=True)
    if not where or ctx is None:
        return text
    root = ctx.find_root().command

    def complete(match: re.Match[str]) -> str:
        try:
            words = shlex.split(match.group(1))
        except ValueError:
            return match.group(0)
        params = _params_of(root, words)
        extra: list[str] = []
        for i in range(0, len(where), 2):
            flag, value = where[i], where[i + 1]
            name = {"-C": "directory", "--env": "environment", "--store": "store_url"}[flag]
            spelled = {"-C": ("-C", "--dir"), "--env": ("--env",), "--store": ("--store",)}[flag]
            if name in params and not any(w.split("=")[0] in spelled for w in words):
                extra += [flag, value]
        if not extra:
            return match.group(0)
        return f"`accesshive {match.group(1)} {shlex.join(extra)}`"

    return _HINT.sub(complete, text)


def _params_of(root: click.Command, words: list[str]) -> set[str]:
    command = root
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
    return {p.name for p in command.params if p.name}


class OutputFile(click.Path):
    """A file to write: its directory must exist and it must not be a directory, checked
    when the options are read, before anything is computed or changed."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = Path(os.fsdecode(super().convert(value, param, ctx)))
        parent = path.parent
        if not parent.is_dir():
            what = "is not a directory" if parent.exists() else "does not exist"
            self.fail(f"cannot write '{path}': the directory '{parent}' {what}", param, ctx)
        return path


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format (json is for machines; with json, errors are JSON too).",
    )


def handles_errors(func: F) -> F:
    """Kept for the commands that name it: errors are now handled once, for every command,
    by ``AccessHiveGroup`` (text or JSON, one line, the exit code of the error)."""
    return func


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
        found = _HINT.search(message)
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


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for ``--format json`` (so its errors are JSON)."""
    for i, arg in enumerate(args):
        if arg == "--":
            return False
        if arg == "--format=json" or (arg == "--format" and args[i + 1 : i + 2] == ["json"]):
            return True
    return False


def _no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.color = False


no_color_option = click.Option(
    ["--no-color"],
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_no_color,
    help="No colours (also when NO_COLOR is set; never on a pipe or file).",
)


class AccessHiveGroup(click.Group):
    """The ``accesshive`` group: every command, and every command added to it later, gets
    ``--no-color`` and the one error handler (``failure``).

    Why here and not per command: a command added on another branch (or by a plugin) then
    shows its errors, JSON errors and colours like the rest without doing anything.
    """

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        self.prepare(cmd)
        super().add_command(cmd, name)

    @staticmethod
    def prepare(cmd: click.Command) -> None:
        """What every command of the group gets, whether added or imported lazily."""
        _add_no_color(cmd)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if os.environ.get("NO_COLOR") and "color" not in extra:
            extra["color"] = False  # https://no-color.org: set and not empty
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta["accesshive.json"] = wants_json(list(args))
        return ctx

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """The command, writing through ``QuietStream``s (``_pipes``): a reader that goes
        away (``| head -1``) stops the output, never the work; the exit status is then
        ``EXIT_PIPE`` (141), as for a tool killed by SIGPIPE."""
        from accesshive.cli._pipes import EXIT_PIPE, quiet_pipes

        with quiet_pipes(sys.stdout, sys.stderr) as streams:
            try:
                result = super().main(*args, **kwargs)
            except SystemExit:
                if any(s.gone for s in streams):
                    raise SystemExit(EXIT_PIPE) from None
                raise
            if any(s.gone for s in streams):
                raise SystemExit(EXIT_PIPE)
            return result

    def invoke(self, ctx: click.Context) -> Any:
        _WHERE.set(())  # a run's hints name its own repository, never an earlier run's
        try:
            return super().invoke(ctx)
        except Exception as exc:
            shown = failure(exc, bool(ctx.meta.get("accesshive.json")))
            if shown is None or shown is exc:
                raise
            raise shown from exc


class LazyCommands(dict[str, click.Command]):
    """The group's commands, each imported on first use from ``"module:attribute"``.

    Why a mapping and not an override of ``get_command``: click, its completion and the
    tests all read ``group.commands`` directly; looking a name up imports one module,
    listing them imports them all (``--help``)."""

    def __init__(self, where: dict[str, str], prepare: Callable[[click.Command], None]) -> None:
        super().__init__()
        self._where = dict(where)
        self._prepare = prepare

    def _load(self, name: object) -> None:
        spec = self._where.pop(name, None) if isinstance(name, str) else None
        if spec is None:
            return
        module, attribute = spec.split(":")
        command = getattr(importlib.import_module(module), attribute)
        self._prepare(command)
        super().__setitem__(name, command)  # type: ignore[index]

    def _load_all(self) -> None:
        for name in list(self._where):
            self._load(name)

    def __getitem__(self, name: str) -> click.Command:
        self._load(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:
        self._load(name)
        return super().get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._where or super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return super().__iter__()

    def __len__(self) -> int:
        return super().__len__() + len(self._where)

    def keys(self) -> Any:
        self._load_all()
        return super().keys()

    def values(self) -> Any:
        self._load_all()
        return super().values()

    def items(self) -> Any:
        self._load_all()
        return super().items()


def _add_no_color(cmd: click.Command) -> None:
    if not any(p.name == "no_color" for p in cmd.params):
        cmd.params.append(no_color_option)
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _add_no_color(sub)


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


today_option = click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Evaluate retention and rotation periods as of this date (default: today).",
)


def store_options(func: F) -> F:
    """--env and --store: which state store a command reads and writes."""
    func = click.option(
        "--store",
        "store_url",
        default=None,
        metavar="URL",
        help="State store: postgresql://... or a SQLite path (default .accesshive/ENV.db; "
        "env ACCESSHIVE_STORE).",
    )(func)
    return click.option(
        "--env",
        "environment",
        default=None,
        envvar="ACCESSHIVE_ENV",
        help="Environment (sandbox, production...; default: the project's default_environment).",
    )(func)


def actor() -> str:
    return os.environ.get("ACCESSHIVE_ACTOR") or os.environ.get("GITHUB_ACTOR") or getpass.getuser()


def as_date(value: dt.datetime | None) -> dt.date:
    return (value or dt.datetime.now()).date()


progress_option = click.option(
    "--progress/--no-progress",
    default=None,
    help="Show each stage and how long it took, on stderr (default: when stderr is a terminal).",
)


def stage_reporter(progress: bool | None) -> Callable[[str], AbstractContextManager[object]]:
    """``operations`` steps shown on stderr: what runs, then how long it took (a cold
    plan of a large org runs for half a minute; it should not look stuck)."""
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return lambda _: nullcontext()

    @contextmanager
    def step(label: str) -> Iterator[None]:
        click.echo(f"{label} …", err=True, nl=False)
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            click.echo(" stopped", err=True)
            raise
        click.echo(f" {time.perf_counter() - started:.1f} s", err=True)

    return step


def tell_notifications(outcomes: Sequence[Any]) -> None:
    """On stderr (never in the command's own output): what the ``notifications`` policy
    sent, and each delivery that failed, which the next run sends again."""
    sent = [o for o in outcomes if o.error is None]
    if sent:
        targets = ", ".join(sorted({o.target for o in sent}))
        click.echo(f"notified {targets} ({len(sent)} message(s))", err=True)
    for failed in (o for o in outcomes if o.error is not None):
        click.secho(
            f"warning: the {failed.event} notification was not delivered ({failed.error}); "
            "the next run sends it again",
            fg="yellow",
            err=True,
        )
