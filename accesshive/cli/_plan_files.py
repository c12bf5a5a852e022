"""Which repository a saved plan belongs to, and the command that makes a refused plan again.

Why a module of its own: a plan file does not record the directory it was planned from
(its bytes depend only on its inputs, so the same plan made in two checkouts is the same
file, and its digest says nothing of where it lies). Yet every hint printed about a plan
(``accesshive approve PLAN ...``, ``accesshive plan --out PLAN``) must name that
repository with ``-C`` whenever the current directory is not it, or it fails when
copied. What it can go by: the plan's ``project`` and ``config_digest`` (a repository
whose configuration now has that digest), and where the plan and the user are; when
that does not tell, no repository is named (a guess by project name alone named another
repository of the same name).

Only the standard library and click at import: ``show`` and ``graph`` use it before any
plan is read (a candidate repository's YAML is read only when one is looked for).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from accesshive.cli._repository import (
    _default_repository,
    hinted_repository,
    hints_point_at,
    runnable,
)

if TYPE_CHECKING:
    from accesshive.plan.model import Plan

PROJECT_FILE = "accesshive.yaml"
SEARCH_DEPTH = 3
"""How far below the current directory a plan's repository is looked for: a clone's
``examples/quickstart`` is two levels down; a test fixture four."""
SEARCH_LIMIT = 2_000
"""Directories looked into at most, so that ``show`` from a home directory stays quick."""
SKIPPED = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})

_NAME = re.compile(r"""^name:[ \t]*(["']?)([^"'#\s]+)\1[ \t]*(?:#.*)?$""", re.MULTILINE)


def project_name(directory: Path) -> str | None:
    """The ``name`` of the repository at ``directory`` (its top-level ``name:`` line), or
    None when it holds no readable ``accesshive.yaml``. Read without the YAML loader: a
    hint's guess needs no more, and ``show`` loads nothing else."""
    try:
        text = (directory / PROJECT_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = _NAME.search(text)
    return found.group(2) if found else ""


def saved_identity(plan_file: Path) -> tuple[str | None, str | None]:
    """The ``project`` and ``config_digest`` a plan file names, read leniently: also from a
    file that is refused (edited, too new), whose hints must name its repository all the
    same."""
    try:
        text = plan_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return _top_level(text, "project"), _top_level(text, "config_digest")
    if not isinstance(data, dict):
        return None, None
    project, digest = data.get("project"), data.get("config_digest")
    return (
        project if isinstance(project, str) else None,
        digest if isinstance(digest, str) else None,
    )


def _top_level(text: str, key: str) -> str | None:
    """A top-level string of a plan file that is not JSON as a whole (cut short: a
    half-downloaded artefact), as ``dumps`` writes it: on a line of its own, indented by
    two spaces. Keys are sorted, so ``config_digest`` is near the top: a file cut after
    it still tells its repository (one cut before it tells none: no repository named)."""
    found = re.search(rf'^  "{key}": ("(?:[^"\\\n]|\\.)*"),?$', text, re.MULTILINE)
    if found is None:
        return None
    try:
        value = json.loads(found.group(1))
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def plan_home(plan_file: Path, project: str | None, config_digest: str | None) -> Path | None:
    """The repository ``plan_file`` was made from, or None when none is found here or
    several are: the current directory, else the directory holding the plan, else the one
    repository below the current directory (``SEARCH_DEPTH`` levels, hidden directories
    skipped); each only if it is the plan's ``project`` (when that is known) and its
    configuration is the one the plan was made from (``config_digest``, which must be
    known): two repositories may share a project name, and a plan is never said to be
    another repository's. A repository changed since the plan was made is not found
    either: its hints would only say to plan again."""
    if config_digest is None:
        return None
    from accesshive.pipeline import config_digest as digest_of  # reads the YAML

    def fits(directory: Path) -> bool:
        name = project_name(directory)
        if name is None or (project is not None and name != project):
            return False
        return digest_of(directory) == config_digest

    for directory in (Path("."), plan_file.parent):
        if fits(directory):
            return directory
    found = [d for d in _repositories_below(Path(".")) if fits(d)]
    return found[0] if len(found) == 1 else None


def _repositories_below(top: Path) -> Iterator[Path]:
    """Directories below ``top`` that hold ``accesshive.yaml`` (not ``top`` itself)."""
    level = [top]
    seen = 0
    for _ in range(SEARCH_DEPTH):
        deeper: list[Path] = []
        for directory in level:
            try:
                entries = sorted(os.scandir(directory), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or entry.name in SKIPPED:
                    continue
                try:
                    if not entry.is_dir(follow_symlinks=False):
                        continue
                except OSError:
                    continue
                seen += 1
                if seen > SEARCH_LIMIT:
                    return
                path = directory / entry.name
                if (path / PROJECT_FILE).is_file():
                    yield path
                deeper.append(path)
        level = deeper


def point_hints_at_plan(
    plan_file: Path, directory: Path | None, project: str | None, config_digest: str | None
) -> Path | None:
    """Make this run's hints name the repository of ``plan_file`` (of ``project`` and
    ``config_digest``):
    ``directory`` (-C) when given, else the one ``plan_home`` finds, else the one an
    ``approve PLAN`` would find itself. Returns the repository, or None when it was a
    guess."""
    if directory is not None:
        hints_point_at(directory)
        return directory
    home = plan_home(plan_file, project, config_digest)
    hints_point_at(home if home is not None else _default_repository(plan_file))
    return home


UNKNOWN_REPOSITORY = "REPO"
"""What a refused plan's ``accesshive plan`` names with ``-C`` when its repository is not
known here: said in words after the command, which cannot run as printed without it."""


@contextmanager
def plan_again(plan_file: Path, find_home: bool = False) -> Iterator[None]:
    """A saved plan refused because it must be made again (edited, malformed, too old,
    stale, forged): the refusal ends with the command that makes it again, runnable as
    printed (this run's ``-C``, ``--env`` and ``--store``), which is also its ``hint``.
    ``find_home``: the run has no repository of its own (``show``, ``graph``): the
    command names the one the plan belongs to.

    When the run's repository is not one (no ``-C``, and the current directory holds no
    ``accesshive.yaml``) and the plan's cannot be told (``plan_home``), the command has
    ``-C REPO`` and says what REPO is: an ``accesshive plan`` without it would only fail
    with "has no accesshive.yaml"."""
    from accesshive.errors import PlanFileError

    try:
        yield
    except PlanFileError as exc:
        if "plan again" not in str(exc).lower() or getattr(exc, "hint", None):
            raise
        home = None if find_home else hinted_repository()
        if home is None or not (home / PROJECT_FILE).is_file():
            home = plan_home(plan_file, *saved_identity(plan_file))
            if home is not None:
                hints_point_at(home)
        out = f"accesshive plan --out {shlex.quote(str(plan_file))}"
        if home is not None:
            command = runnable(f"`{out}`")
        else:
            command = runnable(f"`{out} -C {UNKNOWN_REPOSITORY}`") + (
                f", where {UNKNOWN_REPOSITORY} is the repository the plan was made from"
            )
        again = type(exc)(f"{str(exc).rstrip('.')}: {command}")
        again.hint = command  # type: ignore[attr-defined]  # the error handler shows it
        raise again from exc


def read_saved(plan_file: Path, find_home: bool = False) -> Plan:
    """``read_plan``, a refusal ending with the command that makes the plan again
    (``plan_again``)."""
    from accesshive.plan.planfile import read_plan

    with plan_again(plan_file, find_home):
        return read_plan(plan_file)
