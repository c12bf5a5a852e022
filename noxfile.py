"""Developer tasks: ``nox`` runs the tests; ``nox -s lint`` checks style and types."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Unit, integration and end-to-end tests (integration tests start real servers)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy --strict on the package."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "accesshive", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "accesshive", "tests", "noxfile.py")
    session.run("mypy")


@nox.session(name="format")
def format_(session: nox.Session) -> None:
    """Rewrite files with ruff's formatter and safe fixes."""
    session.install("ruff")
    session.run("ruff", "check", "--fix", "accesshive", "tests", "noxfile.py")
    session.run("ruff", "format", "accesshive", "tests", "noxfile.py")
