"""Symbolic links that lead out of the configuration repository are refused by
``validate`` and ``plan``: the link is named, with where it points, nothing is read
through it, and nothing is changed. Links that stay inside the repository are fine.

Real links in tmp_path, on a copy of the quickstart example.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cache import store as cache
from accesshive.cli import main
from tests.conftest import EXAMPLES

PEOPLE = "identities/people.yaml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # a cache of this test's own, so that "warm" means warmed here
    monkeypatch.setenv("ACCESSHIVE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "quickstart", root, ignore=shutil.ignore_patterns(".accesshive"))
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    where = tmp_path / "outside"
    where.mkdir()
    return where


def tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root`` (links not followed): what a command must not change."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                found[rel] = path.read_bytes()
            else:
                found[rel] = "dir"
    return found


def link_people_outside(repo: Path, outside: Path) -> Path:
    """identities/people.yaml becomes a link to the same file outside the repository."""
    target = outside / "people.yaml"
    shutil.move(repo / PEOPLE, target)
    (repo / PEOPLE).symlink_to(target)
    return target


def validate(repo: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", str(repo), *extra])
    return result.exit_code, result.output


def test_validate_refuses_a_file_linked_outside(repo: Path, outside: Path) -> None:
    target = link_people_outside(repo, outside)
    before = tree(repo)
    code, output = validate(repo)
    assert code == 1, output
    assert (
        f"{PEOPLE}: error[link-outside-repository]: {PEOPLE} is a symbolic link to {target}, "
        "outside the repository" in output
    )
    assert "replace the link with the file itself" in output
    assert "nothing was changed" in output
    assert tree(repo) == before


def test_validate_json_names_the_link(repo: Path, outside: Path) -> None:
    target = link_people_outside(repo, outside)
    code, output = validate(repo, "--format", "json")
    assert code == 1
    payload = json.loads(output)
    refused = [d for d in payload["diagnostics"] if d["code"] == "link-outside-repository"]
    assert [(d["file"], d["severity"]) for d in refused] == [(PEOPLE, "error")]
    assert str(target) in refused[0]["message"]


def test_plan_refuses_and_changes_nothing(repo: Path, outside: Path, tmp_path: Path) -> None:
    target = link_people_outside(repo, outside)
    before = tree(repo)
    plan_file = tmp_path / "plan.json"
    result = CliRunner().invoke(main, ["plan", str(repo), "--out", str(plan_file)])
    assert result.exit_code == 1, result.output
    assert f"{PEOPLE} is a symbolic link to {target}, outside the repository" in result.output
    assert not plan_file.exists()
    assert tree(repo) == before  # no store, no plan, no task file
    assert not (repo / ".accesshive").exists()


def test_refused_on_a_warm_cache(repo: Path, outside: Path) -> None:
    code, output = validate(repo)
    assert code == 0, output
    warm = cache.usage()
    assert warm is not None and warm.entries > 0  # the file's parse is cached by its bytes
    link_people_outside(repo, outside)  # the same bytes, now read through a link
    code, output = validate(repo)
    assert code == 1
    assert f"{PEOPLE} is a symbolic link to" in output
    code, output = validate(repo)  # and again, on whatever the refused run left
    assert code == 1
    assert f"{PEOPLE} is a symbolic link to" in output


def test_relative_link_outside_shows_where_it_leads(repo: Path, outside: Path) -> None:
    target = outside / "people.yaml"
    shutil.move(repo / PEOPLE, target)
    (repo / PEOPLE).symlink_to(Path("..", "..", "outside", "people.yaml"))
    code, output = validate(repo)
    assert code == 1
    assert f"{PEOPLE} is a symbolic link to ../../outside/people.yaml ({target})" in output


def test_directory_linked_outside_is_refused(repo: Path, outside: Path) -> None:
    # the default include is **/*.yaml, which does not descend into a directory link:
    # the identities would silently vanish; they are refused instead
    shutil.move(repo / "identities", outside / "identities")
    (repo / "identities").symlink_to(outside / "identities", target_is_directory=True)
    code, output = validate(repo)
    assert code == 1
    assert (
        f"identities: error[link-outside-repository]: identities is a symbolic link to the "
        f"directory {outside / 'identities'}, outside the repository" in output
    )


def test_directory_linked_outside_through_an_include_pattern(repo: Path, outside: Path) -> None:
    project = repo / "accesshive.yaml"
    project.write_text(project.read_text() + 'include: ["*.yaml", "*/*.yaml"]\n')
    code, output = validate(repo)
    assert code == 0, output
    shutil.move(repo / "identities", outside / "identities")
    (repo / "identities").symlink_to(outside / "identities", target_is_directory=True)
    (outside / "identities" / "people.yaml").write_text("identities: [\n")  # if read: an error
    code, output = validate(repo)
    assert code == 1
    assert "identities is a symbolic link to the directory" in output
    assert "people.yaml" not in output  # refused as one link, nothing read through it


def test_excluded_directory_link_is_allowed(repo: Path, outside: Path) -> None:
    (outside / "docs").mkdir()
    (repo / "docs").symlink_to(outside / "docs", target_is_directory=True)
    code, output = validate(repo)
    assert code == 1
    assert "docs is a symbolic link to the directory" in output
    assert "exclude ('docs/**')" in output
    project = repo / "accesshive.yaml"
    project.write_text(project.read_text() + 'exclude: ["docs/**"]\n')
    code, output = validate(repo)
    assert code == 0, output


def test_project_file_linked_outside_is_refused(repo: Path, outside: Path) -> None:
    target = outside / "accesshive.yaml"
    shutil.move(repo / "accesshive.yaml", target)
    (repo / "accesshive.yaml").symlink_to(target)
    code, output = validate(repo)
    assert code == 1
    assert f"accesshive.yaml is a symbolic link to {target}, outside the repository" in output


def test_policy_directory_linked_outside_is_refused(repo: Path, outside: Path) -> None:
    (outside / "policies").mkdir()
    (outside / "policies" / "review.yaml").write_text("review: [\n")  # if read: an error
    (repo / "policies").symlink_to(outside / "policies", target_is_directory=True)
    code, output = validate(repo)
    assert code == 1
    assert "policies is a symbolic link to the directory" in output
    assert "review.yaml" not in output  # nothing read through it


def link_people_inside(repo: Path) -> None:
    hidden = repo / ".shared"  # hidden: never read as config on its own
    hidden.mkdir()
    shutil.move(repo / PEOPLE, hidden / "people.yaml")
    (repo / PEOPLE).symlink_to(Path("..", ".shared", "people.yaml"))


def test_links_inside_the_repository_are_fine(repo: Path) -> None:
    link_people_inside(repo)
    (repo / "more-sources").symlink_to("sources", target_is_directory=True)
    code, output = validate(repo)
    assert code == 0, output
    assert "identities" in output
    result = CliRunner().invoke(main, ["plan", str(repo)])
    assert result.exit_code == 0, result.output


def test_repository_reached_through_a_link_is_fine(repo: Path, tmp_path: Path) -> None:
    link_people_inside(repo)  # a link inside, resolved: it must be compared to the real root
    (tmp_path / "via").symlink_to(repo, target_is_directory=True)
    code, output = validate(tmp_path / "via")
    assert code == 0, output
