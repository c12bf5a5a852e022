"""The ``accesshive`` group: its commands imported on first use, ``--no-color`` on every
command, and the one place a command's failure is turned into what the user sees.

Why a module of its own, importing only click and the standard library: it is what
every run loads before it knows which command runs, ``accesshive --version`` and
``accesshive --help`` included. The error handler (``_failure``), the repository and
hint helpers (``_repository``) and every command module are imported when a command
runs, and only then.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import click

Prepare = Callable[[click.Command], None]


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


WELL_KNOWN: dict[str, str] = {
    "drift": "drift is in the report: `accesshive report` (with `--fail-on drift` it exits 7 "
    "when it finds some)",
    "orphans": "orphaned accounts are in the report: `accesshive report` (with `--fail-on "
    "orphans` it exits 7 when it finds some)",
    "health": "the health report is `accesshive report`",
    "diff": "the changes the configuration makes are its plan: `accesshive plan`",
    "preview": "the changes the configuration makes are its plan: `accesshive plan`",
    "deploy": "plan with `accesshive plan --out plan.json`, then `accesshive apply plan.json`",
    "provision": "plan with `accesshive plan --out plan.json`, then `accesshive apply plan.json`",
    "run": "plan with `accesshive plan --out plan.json`, then `accesshive apply plan.json`",
    "check": "a repository is checked by `accesshive validate`",
    "lint": "a repository is checked by `accesshive validate`",
    "refresh": "reading the targets again is `accesshive sync`",
    "pull": "reading the targets again is `accesshive sync`",
    "fetch": "reading the targets again is `accesshive sync`",
    "log": "the audit trail is `accesshive audit export`; an identity's steps, `accesshive "
    "status` with its id",
    "history": "the audit trail is `accesshive audit export`; an identity's steps, "
    "`accesshive status` with its id",
    "identities": "each identity's provisioning is `accesshive status`",
    "users": "each identity's provisioning is `accesshive status`",
    "secrets": "the credentials are in the vault: `accesshive vault list`",
    "ui": "the web console is `accesshive console`",
    "serve": "the web console is `accesshive console`; the SCIM service, `accesshive scim serve`",
    "version": "the version is `accesshive --version`",
    "help": "the commands are listed by `accesshive --help`",
}
"""Words a user may type for something that is a command of another name (or a part of
one): what to run instead, said before click's closest spelling, which can only guess
from the letters (``drift`` is not ``audit``)."""


def _directory_of(args: list[str]) -> str | None:
    """The repository the mistyped command was pointed at (``-C DIR``, ``--dir DIR`` or
    a first argument that is a directory), so that the command suggested instead runs
    as printed (``accesshive drift examples/quickstart``)."""
    for i, arg in enumerate(args):
        if arg in ("-C", "--dir") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--dir="):
            return arg.split("=", 1)[1]
    first = next((a for a in args if not a.startswith("-")), None)
    return first if first is not None and os.path.isdir(first) else None


def _in_directory(hint: str, directory: str | None) -> str:
    """``hint`` runnable on ``directory`` (``cli/_repository.runnable``: ``-C DIR`` on each
    backticked command that takes it)."""
    if directory is None:
        return hint
    from pathlib import Path  # only on this error: `accesshive --version` stays light

    from accesshive.cli._repository import hints_point_at, runnable

    hints_point_at(Path(directory))
    return runnable(hint)


class AccessHiveGroup(click.Group):
    """The ``accesshive`` group: every command, and every command added to it later, gets
    ``--no-color`` and the one error handler (``_failure.failure``).

    Why here and not per command: a command added on another branch (or by a plugin) then
    shows its errors, JSON errors and colours like the rest without doing anything.

    Its commands are click's lazy-loading pattern (``list_commands`` names them,
    ``get_command`` imports one): ``accesshive --help`` lists every command with its
    short help from the table the group was given (``LazyCommands``), importing none.
    """

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        self.prepare(cmd)
        super().add_command(cmd, name)

    @staticmethod
    def prepare(cmd: click.Command) -> None:
        """What every command of the group gets, whether added or imported lazily."""
        _add_no_color(cmd)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        known = name.lower() in WELL_KNOWN and name not in self.commands
        if known and not ctx.resilient_parsing:  # completion gets click's own answer
            hint = _in_directory(WELL_KNOWN[name.lower()], _directory_of(args[1:]))
            raise click.UsageError(f"No such command '{name}': {hint}.", ctx=ctx)
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        if isinstance(self.commands, LazyCommands):
            return sorted(self.commands.names())
        return super().list_commands(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's own listing, but a command not imported yet is shown by a stand-in
        holding its short help: the same line, computed by click the same way."""
        lazy = self.commands if isinstance(self.commands, LazyCommands) else None
        commands: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            cmd = lazy.stand_in(name) if lazy is not None else self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                commands.append((name, cmd))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl(
                    [(name, cmd.get_short_help_str(limit)) for name, cmd in commands]
                )

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

        if sys.excepthook is sys.__excepthook__:
            sys.excepthook = _redacted_traceback
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
        from accesshive.cli._repository import forget_where

        forget_where()  # a run's hints name its own repository, never an earlier run's
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from accesshive.cli._failure import failure

            shown = failure(exc, bool(ctx.meta.get("accesshive.json")))
            if shown is None or shown is exc:
                raise
            raise shown from exc


class LazyCommands(dict[str, click.Command]):
    """The group's commands, each imported on first use from ``"module:attribute"``, with
    its short help known before: ``{name: ("module:attribute", short help)}``.

    Why a mapping and not only an override of ``get_command``: click, its completion and
    the tests all read ``group.commands`` directly; looking a name up imports one module,
    listing them (``.items()``) imports them all. ``names`` and ``stand_in`` import none:
    they are what ``accesshive --help`` uses."""

    def __init__(self, where: Mapping[str, tuple[str, str]], prepare: Prepare) -> None:
        super().__init__()
        self._where = dict(where)
        self._short_help = {name: short for name, (_, short) in where.items()}
        self._prepare = prepare

    def names(self) -> list[str]:
        """Every command's name, imported or not."""
        return [*super().keys(), *self._where]

    def stand_in(self, name: str) -> click.Command | None:
        """The command if imported, else a command holding only its name and short help."""
        if super().__contains__(name):
            return super().__getitem__(name)
        if name not in self._where:
            return None
        return click.Command(name, help=self._short_help[name])

    def _load(self, name: object) -> None:
        spec = self._where.pop(name, None) if isinstance(name, str) else None
        if spec is None:
            return
        module, attribute = spec[0].split(":")
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


def _redacted_traceback(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
    """A bug's traceback, as Python prints it, with every secret accesshive resolved in
    this run redacted: a bug keeps its traceback (to be reported), never a secret that an
    exception's message or a library's repr carried into it."""
    import traceback

    from accesshive.redaction import redact

    sys.stderr.write(redact("".join(traceback.format_exception(kind, exc, tb))))
