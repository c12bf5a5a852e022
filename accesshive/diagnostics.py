"""Diagnostics: problems found in the user's input, returned as data.

Why data and not exceptions: validation collects every problem and reports them
all at once, each with where it is (file:line:column) and what to do about it.
A diagnostic first knows its place as a *path* inside a YAML file (cheap to
carry); the config loader turns paths into line and column only for the
diagnostics that are shown.
"""

from __future__ import annotations

import enum
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

    def child(self, *keys: str | int) -> Location:
        return Location(self.file, (*self.path, *keys))

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


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
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.severity.value}[{self.code}]: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        for rel in self.related:
            text += f"\n  see: {rel}"
        return text

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "path": list(loc.path) if loc else None,
            "related": [str(r) for r in self.related],
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
