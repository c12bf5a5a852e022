"""Diagnostics: problems found in the user's input, returned as data.

Why data and not exceptions: validation collects every problem and reports them
all at once, each with where it is (file:line:column) and what to do about it.
A diagnostic first knows its place as a *path* inside a YAML file (cheap to
carry); the config loader turns paths into line and column only for the
diagnostics that are shown.

Where a file is *shown*: ``file`` is the path inside the repository (stable: what JSON,
caches and plans hold), but a user runs ``accesshive validate b1`` from anywhere, and a
path must open from where they are. The loader records the repository's directory
(``Location.root``); ``render`` prints the path from the current directory when the
repository is under it, else the absolute path (``Location.shown``).
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field, replace
from typing import Any

YamlPath = tuple[str | int, ...]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """Where a problem is: a file, a path of keys inside it, and once resolved, line:column."""

    file: str
    path: YamlPath = ()
    line: int | None = None
    column: int | None = None
    root: str | None = field(default=None, compare=False, repr=False)
    """The repository's directory (absolute) when ``file`` is a file in it, else None (a
    record an identity provider pushed, a shipped default policy, a directory that is no
    repository): what ``shown_file`` starts from. Not part of the location's identity."""
    label: str | None = field(default=None, compare=False, repr=False)
    """What is at this place, for a related location: which of several a ``see:`` line is
    (``role 'figma-admin'``). Not part of the location's identity."""

    def child(self, *keys: str | int) -> Location:
        return Location(self.file, (*self.path, *keys), root=self.root)

    def __str__(self) -> str:
        return self._with_position(self.file)

    def shown(self) -> str:
        """``file:line:column`` with the file as ``shown_file`` gives it."""
        return self._with_position(self.shown_file())

    def shown_file(self) -> str:
        """The file as a path that opens from the current directory: relative to it when
        the repository is under it (from the repository's root, ``file`` itself), else
        absolute."""
        if self.root is None:
            return self.file
        full = os.path.join(self.root, self.file)
        try:
            here = os.getcwd()
        except OSError:  # the current directory was removed
            return full
        if full == here or full.startswith(here.rstrip(os.sep) + os.sep):
            return os.path.relpath(full, here)
        return full

    def _with_position(self, file: str) -> str:
        if self.line is None:
            return file
        if self.column is None:
            return f"{file}:{self.line}"
        return f"{file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: a stable ``code``, what is wrong, where, and a hint on what to do."""

    code: str
    message: str
    location: Location | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    related: tuple[Location, ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def at(self, location: Location) -> Diagnostic:
        return replace(self, location=location)

    def render(self) -> str:
        """The text a user reads: its places as paths that open from where they are."""
        where = f"{self.location.shown()}: " if self.location else ""
        text = f"{where}{self.severity.value}[{self.code}]: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        for rel in self.related:
            text += f"\n  see: {rel.shown()}" + (f" ({rel.label})" if rel.label else "")
        return text

    def to_json(self) -> dict[str, Any]:
        """``file`` (and ``related``) inside the repository, the same wherever it runs;
        ``shown_file``: the path as the text output prints it. ``related_places``: each
        related place as an object, as the diagnostic's own (``file``, ``shown_file``,
        ``line``, ``column``) with its ``label`` (what a ``see:`` line says after the
        place, else null); ``related`` keeps its strings for the scripts that read them."""
        loc = self.location
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "file": loc.file if loc else None,
            "shown_file": loc.shown_file() if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "path": list(loc.path) if loc else None,
            "related": [str(r) for r in self.related],
            "related_places": [
                {
                    "file": r.file,
                    "shown_file": r.shown_file(),
                    "line": r.line,
                    "column": r.column,
                    "label": r.label,
                }
                for r in self.related
            ],
        }


def sort_key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    loc = d.location
    return (
        loc.file if loc else "",
        (loc.line or 0) if loc else 0,
        (loc.column or 0) if loc else 0,
        d.code,
        d.message,
    )
