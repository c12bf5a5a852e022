"""Shared fixtures: where the repository's examples and fixtures live, and a fresh copy of
the quickstart to work in."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from accesshive.connectors.registry import register
from tests.support import github_api
from tests.support.memory_connector import MemoryConnector

if TYPE_CHECKING:
    from tests.support.faults import FaultPlan
    from tests.support.scim_server import ScimServer

# The in-memory, fault-injecting connector is the tests' own: registered here, for this
# process only, never shipped in the package's registry.
register("memory", MemoryConnector)

# No property test asserts how long one example takes: speed is measured by `nox -s bench`,
# and on a loaded machine (CI, mutation testing) hypothesis's default 200 ms deadline
# fails correct code as "flaky". Every test gets the same profile.
settings.register_profile("accesshive", deadline=None)
settings.load_profile("accesshive")

# The parse cache of the tests lives in a throwaway directory, never in ~/.cache.
os.environ.setdefault("ACCESSHIVE_CACHE_DIR", tempfile.mkdtemp(prefix="accesshive-cache-"))

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def examples() -> Path:
    return EXAMPLES


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def copy_quickstart(dest: Path) -> Path:
    """``examples/quickstart`` copied to ``dest``, without its ``.accesshive`` directory
    (the store, the wiki's database and whatever a run on a checkout left there), so
    nothing a test does touches the shipped example and no test starts from another's
    state."""
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    return dest


def reviewed_quickstart(
    dest: Path, review: str, *, sync: bool = True, store_args: Sequence[str] = ()
) -> Path:
    """The quickstart copied to ``dest`` (as :func:`copy_quickstart`) with ``review`` as
    its ``policies/review.yaml``, then synced (``accesshive sync`` with ``store_args``)
    unless ``sync=False``: where a test of approvals starts."""
    from click.testing import CliRunner

    from accesshive.cli import main

    copy_quickstart(dest)
    (dest / "policies").mkdir()
    (dest / "policies" / "review.yaml").write_text(review)
    if sync:
        synced = CliRunner().invoke(main, ["sync", str(dest), *store_args])
        assert synced.exit_code == 0, synced.output
    return dest


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    """A fresh copy of the quickstart at ``tmp_path / "quickstart"``: no store yet."""
    return copy_quickstart(tmp_path / "quickstart")


@pytest.fixture
def synced_quickstart(quickstart: Path) -> Path:
    """The fresh copy, synced: its store (SQLite, under ``.accesshive/``) holds a
    snapshot of every source, as after ``accesshive sync``."""
    from click.testing import CliRunner

    from accesshive.cli import main

    assert CliRunner().invoke(main, ["sync", str(quickstart)]).exit_code == 0
    return quickstart


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on 127.0.0.1 (CI installs it; elsewhere skip if absent)."""
    from tests.support import postgres

    if not postgres.available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed, but CI must run the PostgreSQL tests")
        pytest.skip("PostgreSQL is not installed here")
    with postgres.postgres_server() as url:
        yield url


_db_counter = iter(range(1_000_000))


@pytest.fixture
def postgres_db(postgres_url: str) -> str:
    """A new empty database on the test server."""
    from tests.support import postgres

    return postgres.fresh_database(postgres_url, f"t{next(_db_counter)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_args(request: pytest.FixtureRequest) -> list[str]:
    """The CLI's store options, once per store: none for the default SQLite store under
    the repository's ``.accesshive/``, ``--store`` with a fresh PostgreSQL database for
    the other. A test that needs only one narrows it with
    ``@pytest.mark.parametrize("store_args", ["sqlite"], indirect=True)``."""
    if request.param == "sqlite":
        return []
    return ["--store", request.getfixturevalue("postgres_db")]


@pytest.fixture
def github() -> Iterator[str]:
    """The GitHub REST stand-in (tests/support/github_api.py) for acme/access#7."""
    with github_api.serving() as url:
        yield url


@pytest.fixture
def design_scim() -> Iterator[ScimServer]:
    """A real SCIM server with the groups ``staff`` and ``admins`` of the source
    ``design`` (tests/support/scim_sources.py)."""
    from tests.support.scim_sources import design_server

    with design_server() as server:
        yield server


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> FaultPlan:
    """Faults to inject: every connector apply opens (``apply.pool.connector_for``) is
    wrapped in a ``FaultyConnector`` sharing this plan (tests/support/faults.py)."""
    from accesshive.apply import pool
    from tests.support.faults import FaultPlan, FaultyConnector

    plan = FaultPlan()
    original = pool.connector_for
    monkeypatch.setattr(
        pool, "connector_for", lambda c, s, w=None: FaultyConnector(original(c, s, w), plan)
    )
    return plan


@pytest.fixture(autouse=True)
def _no_secrets_carried_over() -> Iterator[None]:
    """Each test starts with no resolved secret registered for redaction: one test's
    token (resolved in this process) must not change another's messages."""
    from accesshive import redaction

    redaction.forget()
    yield
    redaction.forget()
