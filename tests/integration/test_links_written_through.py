"""Files accesshive writes inside the repository are never written through a symbolic
link that leads out of it: a pull request could add one pointing at a file of whoever
runs accesshive on it. The store in ``.accesshive/`` and the task files of a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main

TODAY = "2026-11-29"
PRECIOUS = "ssh-ed25519 AAAA precious\n"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def repo(quickstart: Path) -> Path:
    return quickstart


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    outside = tmp_path / "home"
    outside.mkdir()
    path = outside / "authorized_keys"
    path.write_text(PRECIOUS)
    path.chmod(0o644)
    return path


def test_a_store_directory_linked_out_of_the_repository_is_refused(
    repo: Path, victim: Path
) -> None:
    wiki = repo / "sources" / "wiki.yaml"  # the wiki's own database elsewhere: only the
    wiki.write_text(  # store is behind the link (else validate refuses the wiki's first)
        wiki.read_text().replace("sqlite:///.accesshive/wiki-app.db", "sqlite:///wiki-app.db")
    )
    (repo / ".accesshive").symlink_to(victim.parent)
    (victim.parent / "default.db").symlink_to(victim)
    refused = _run("sync", str(repo))
    assert refused.exit_code != 0
    assert f"{repo / '.accesshive'} is a symbolic link out of the repository" in refused.output
    assert "--store" in refused.output
    assert victim.read_text() == PRECIOUS
    assert victim.stat().st_mode & 0o777 == 0o644  # not even its mode changed


def test_task_files_linked_out_of_the_repository_are_not_written(repo: Path, victim: Path) -> None:
    assert _run("sync", str(repo)).exit_code == 0
    runs = repo / ".accesshive" / "runs" / "1"
    runs.mkdir(parents=True)
    (runs / "tasks.md").symlink_to(victim)
    applied = _run("apply", str(repo), "--auto-approve", "--today", TODAY)
    assert applied.exit_code != 0
    assert f"{runs / 'tasks.md'} is a symbolic link out of the repository" in applied.output
    assert "recorded in the store" in applied.output
    assert victim.read_text() == PRECIOUS
    listed = _run("tasks", "list", str(repo))
    assert "create account Grace Hopper on badges" in listed.output  # nothing lost


def test_a_runs_directory_linked_out_is_refused_before_anything_is_applied(
    repo: Path, victim: Path
) -> None:
    assert _run("sync", str(repo)).exit_code == 0
    (repo / ".accesshive" / "runs").symlink_to(victim.parent)
    applied = _run("apply", str(repo), "--auto-approve", "--today", TODAY)
    assert applied.exit_code != 0
    assert "is a symbolic link out of the repository" in applied.output
    assert "nothing was applied" in applied.output
    import sqlite3

    with sqlite3.connect(repo / ".accesshive" / "wiki-app.db") as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert sorted(p.name for p in victim.parent.iterdir()) == [victim.name]
