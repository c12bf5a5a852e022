"""Whether a directory is a config repository at all: it holds ``accesshive.yaml``.

Why a module of its own: it is the first thing ``validate`` and ``plan`` check, and it
needs none of the configuration models; the command line asks it before importing the
loader (about a second of imports), so pointing a command at the wrong directory fails
at once, with the same diagnostic the loader gives.
"""

from __future__ import annotations

from pathlib import Path

from accesshive.diagnostics import Diagnostic, Location

PROJECT_FILE = "accesshive.yaml"


def missing_project(root: Path) -> Diagnostic | None:
    """The ``no-project`` error when ``root`` holds no ``accesshive.yaml``; else None."""
    if (root / PROJECT_FILE).is_file():
        return None
    where = "does not exist" if not root.exists() else f"has no {PROJECT_FILE}"
    # the shipped example is suggested only where it is, so the hint runs as printed
    example = Path("examples/quickstart")
    tried = f" (try {example})" if (example / PROJECT_FILE).is_file() else ""
    return Diagnostic(
        "no-project",
        f"{root} {where}",
        Location(str(root)),
        hint=f"point at a config repository: a directory with {PROJECT_FILE} "
        f"at its root (-C DIR){tried}",
    )
