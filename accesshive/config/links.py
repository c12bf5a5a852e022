"""Symbolic links that lead out of the configuration repository, refused.

Why: ``validate`` and ``plan`` run in CI on pull requests. A pull request that adds
``identities/people.yaml -> /etc/...`` (or ``identities/ -> /home/runner``) would make
the loader read files of the machine it runs on, and echo parts of them in its
diagnostics; a repository reviewed as text does not show where a link points. So
every file the loader reads must be inside the repository once links are resolved:
a link inside it that points inside it is fine; one that points outside is an error
naming the link and where it points, and nothing is read through it.

The check runs before a file is read, on every run: the parse cache (keyed by the
bytes of a file) is never consulted for a refused file, so a warm cache refuses it
the same way. A symbolic link to a directory outside the repository is refused even
where no include pattern reaches into it (``**`` does not follow directory links):
identities silently dropped would be worse. A directory that holds no configuration
can be listed in ``exclude``. Hidden entries are never read, and never looked at.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from accesshive.diagnostics import Diagnostic, Location

CODE = "link-outside-repository"


@dataclass(frozen=True)
class Link:
    """A symbolic link inside the repository whose target is outside it."""

    name: str
    """Its path relative to the repository (``/``-separated)."""
    target: str
    """What it points to, as written in the link."""
    resolved: Path
    """Where it leads once every link is followed."""
    is_dir: bool


class RepositoryLinks:
    """The links of one repository that lead out of it; refusals go to ``diagnostics``."""

    def __init__(self, root: Path, diagnostics: list[Diagnostic]) -> None:
        self.root = root
        self.real_root = Path(os.path.realpath(root))
        self.diagnostics = diagnostics
        self.any_link = False
        """Whether the repository holds a symbolic link at all (outside hidden
        directories): without one, a file found inside it is inside it."""
        self.outside: dict[str, Link] = {}
        self.reported: set[str] = set()
        self._scanned = False

    def _scan(self) -> None:
        """Find the links (once, when first needed: only a repository is scanned)."""
        if self._scanned:
            return
        self._scanned = True
        stack = [self.root]
        while stack:
            directory = stack.pop()
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue  # unreadable: the loader reports what it cannot read
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink():
                    self.any_link = True
                    resolved = Path(os.path.realpath(entry.path))
                    if not self._inside(resolved):
                        name = Path(entry.path).relative_to(self.root).as_posix()
                        self.outside[name] = Link(
                            name, _readlink(entry.path), resolved, resolved.is_dir()
                        )
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))

    def _inside(self, real: Path) -> bool:
        return real == self.real_root or real.is_relative_to(self.real_root)

    def allows(self, path: Path, name: str) -> bool:
        """Whether ``path`` (shown as ``name``) may be read: it is inside the repository
        once its links are resolved. If not, the link that leads out is reported once."""
        self._scan()
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            parts = ("..",)  # e.g. an absolute policy path: never inside by its name
        if not self.any_link and not any(p == ".." or p.startswith(".") for p in parts):
            return True  # no link, no '..', no hidden directory the scan skipped
        if self._inside(Path(os.path.realpath(path))):
            return True
        link = self._link_on(parts)
        if link is not None:
            self._report_link(link)
        elif name not in self.reported:
            self.reported.add(name)
            self.diagnostics.append(
                Diagnostic(
                    CODE,
                    f"{name} is outside the repository ({os.path.realpath(path)})",
                    Location(name),
                    hint="include patterns and policy paths must stay inside the "
                    "repository: move the files into it",
                )
            )
        return False

    def _link_on(self, parts: tuple[str, ...]) -> Link | None:
        """The first link along ``parts`` that leads out of the repository."""
        if ".." in parts:
            return None
        for n in range(1, len(parts) + 1):
            here = self.root.joinpath(*parts[:n])
            if not here.is_symlink():
                continue
            resolved = Path(os.path.realpath(here))
            if not self._inside(resolved):
                name = "/".join(parts[:n])
                return Link(name, _readlink(here), resolved, resolved.is_dir())
        return None

    def report_directories(self, excluded: Iterable[str]) -> None:
        """Report every link to a directory outside the repository not reported yet,
        unless an ``exclude`` pattern covers it."""
        self._scan()
        patterns = tuple(excluded)
        for name, link in sorted(self.outside.items()):
            if not link.is_dir or name in self.reported:
                continue
            if any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(name + "/", p) for p in patterns):
                continue
            self._report_link(link)

    def _report_link(self, link: Link) -> None:
        if link.name in self.reported:
            return
        self.reported.add(link.name)
        where = link.target
        if Path(link.target) != link.resolved:
            where += f" ({link.resolved})"
        if link.is_dir:
            message = (
                f"{link.name} is a symbolic link to the directory {where}, outside the repository"
            )
            hint = (
                "accesshive reads no file outside the repository it checks: move the files "
                "into the repository (or point the link inside it); if the directory holds "
                f"no configuration, list it in accesshive.yaml's exclude ('{link.name}/**')"
            )
        else:
            message = f"{link.name} is a symbolic link to {where}, outside the repository"
            hint = (
                "accesshive reads no file outside the repository it checks: replace the "
                "link with the file itself (or point it at a file inside the repository)"
            )
        self.diagnostics.append(Diagnostic(CODE, message, Location(link.name), hint=hint))


def _readlink(path: str | Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"
