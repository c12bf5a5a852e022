"""A third SCIM 2.0 service provider for the tests, from PyPI: django-scim2 (0.23.0,
pinned in pyproject's test extras) over Django and SQLite. django-scim2 parses
filters, applies PATCH, pages and formats every answer with its own default adapters;
only the Django project around it in tests/support/django_scim/ is ours (settings,
URLs, the user and group models its mixins require, a bearer-token login). Started as
its own Python process serving with waitress on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.scim_process import ScimProcess

HERE = Path(__file__).resolve().parent / "django_scim"


class DjangoScimServer(ScimProcess):
    """A running django-scim2 server (see ``ScimProcess``)."""


@functools.cache
def _migrated() -> Path:
    """A database with django-scim2's tables, migrated once per test run (it takes
    seconds); each server starts on a copy of it."""
    folder = Path(tempfile.mkdtemp(prefix="django-scim-"))
    atexit.register(shutil.rmtree, folder, True)
    database = folder / "template.sqlite3"
    subprocess.run(
        [sys.executable, "serve.py", "--migrate-only", "-", str(database)],
        cwd=HERE,
        check=True,
        capture_output=True,
        text=True,
    )
    return database


@contextmanager
def django_scim_server(token: str = "django-scim-token-4b9d") -> Iterator[DjangoScimServer]:
    """A fresh django-scim2 service provider (its own SQLite file) for one test."""
    with tempfile.TemporaryDirectory(prefix="django-scim-") as folder:
        database = Path(folder) / "db.sqlite3"
        shutil.copyfile(_migrated(), database)
        process = subprocess.Popen(
            [sys.executable, "serve.py", token, str(database)],
            cwd=HERE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("port "):
            process.kill()
            process.wait()
            raise RuntimeError(f"the django-scim2 server did not start (exit {process.poll()})")
        port = int(line.split()[1])
        server = DjangoScimServer(f"http://127.0.0.1:{port}/scim/v2", token, process)
        try:
            yield server
        finally:
            server.stop()
