"""Which repository and store a run points at, and the printed hints that must name them.

Every command finds its config repository one way (``-C/--dir DIR``, and ``[DIR]`` for the
commands whose subject is the repository); the options that point a run elsewhere than
the current directory and the default store (``-C DIR``, ``--env``, ``--store``) are
remembered for the run, and ``runnable`` adds them to every backticked ``accesshive ...``
hint the run prints, so that a hint runs as printed from where the user is.

Why together: the hints can only name what the repository options found, and a command
added later gets both by using the one decorator.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., Any])

REPOSITORY_HELP = "The config repository (default: the current directory)."
PLAN_REPOSITORY_HELP = (
    "The config repository (default: the current directory; with a plan file, the "
    "directory holding it when the current one is not a repository)."
)
"""For the commands given a plan file (``apply``, ``approve``, ``approvals ...``): only
they look for the repository beside the plan."""

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


def hinted_repository() -> Path:
    """The repository this run's hints name: its ``-C DIR``, else the current directory
    (which a caller checks is one before a hint relies on it)."""
    where = _WHERE.get()
    for i in range(0, len(where), 2):
        if where[i] == "-C":
            return Path(where[i + 1])
    return Path(".")


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
    a store URL without its password: hints are printed, secrets are not. Never left out:
    a hint without ``--store`` would run against the default store, recording its work
    in another store than the one the plan came from; without the password it fails
    loudly instead (or finds it where libpq looks: PGPASSWORD, ~/.pgpass)."""
    where: list[str] = []
    try:
        elsewhere = directory.resolve() != Path.cwd().resolve()
    except OSError:
        elsewhere = True
    if elsewhere:
        where += ["-C", str(directory)]
    ctx = click.get_current_context(silent=True)
    for name, flag in (
        ("environment", "--env"),
        ("store_url", "--store"),
        ("workers", "--workers"),
    ):
        value = params.get(name)
        if not value or ctx is None:
            continue
        if ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            continue
        if name == "workers":  # a flag: a failure's "apply again" must run on workers too
            where += [flag, ""]
            continue
        where += [flag, _without_password(str(value)) if name == "store_url" else str(value)]
    return tuple(where)


def _without_password(url: str) -> str:
    """A store URL with no password in it (``user:secret@`` and ``?password=`` taken out)."""
    from urllib.parse import urlsplit, urlunsplit  # only when --store was given

    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    query = "&".join(
        p for p in parts.query.split("&") if p and not p.lower().startswith("password=")
    )
    if password is None and query == parts.query:
        return url  # as written (urlunsplit would rewrite sqlite:///x.db)
    if password is not None:
        userinfo, host = parts.netloc.rsplit("@", 1)
        parts = parts._replace(netloc=f"{userinfo.split(':', 1)[0]}@{host}")
    return urlunsplit(parts._replace(query=query))


def forget_where() -> None:
    """A new run: its hints name its own repository, never an earlier run's."""
    _WHERE.set(())


HINT = re.compile(r"`accesshive ([^`]*)`")
"""A hint in a message: a backticked ``accesshive ...`` command, which ``runnable`` completes
and the error handler shows as the error's ``hint``."""


def runnable(text: str) -> str:
    """``text`` with every backticked ``accesshive ...`` command given the ``-C DIR``,
    ``--env``, ``--store`` and ``--workers`` of this run, where the command takes them and
    does not name them already: a hint is then runnable as printed from where the user is."""
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
            name = {
                "-C": "directory",
                "--env": "environment",
                "--store": "store_url",
                "--workers": "workers",
            }[flag]
            spelled = {"-C": ("-C", "--dir"), "--workers": ("--workers",)}.get(flag, (flag,))
            if name in params and not any(w.split("=")[0] in spelled for w in words):
                extra += [flag, value] if value else [flag]
        if not extra:
            return match.group(0)
        return f"`accesshive {match.group(1)} {shlex.join(extra)}`"

    return HINT.sub(complete, text)


def _params_of(root: click.Command, words: list[str]) -> set[str]:
    command = root
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
    return {p.name for p in command.params if p.name}
