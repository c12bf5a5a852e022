"""Importing an HR export: joiners, movers and leavers become a reviewable YAML change."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.operations import StoreRef, plan_repository
from tests.conftest import EXAMPLES

SOURCE = """
identity_sources:
  hr:
    kind: csv
    description: Nightly export of the HR system.
    id: "{{ first|slug }}.{{ last|slug }}"
    attributes:
      given_name: "{{ first }}"
      family_name: "{{ last }}"
      email: "{{ email }}"
      department: "{{ dept }}"
      employee_number: "{{ number }}"
    lifecycle_state: "{{ 'leave' if status == 'leave' else 'active' }}"
    roles: {Admins: ops-admin}
"""
HEADER = "first,last,email,dept,number,status,groups\n"
ROWS = {
    "kay": "Kay,Jones,kay.jones@quickstart.example,Engineering,2001,active,\n",
    "lou": "Lou,Reed,lou.reed@quickstart.example,Sales,2002,active,Admins\n",
    "mo": "Mo,Farah,mo.farah@quickstart.example,Operations,2003,active,\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    (dest / "accesshive.yaml").write_text((dest / "accesshive.yaml").read_text() + SOURCE)
    return dest


def _import(repo: Path, csv_text: str, *extra: str) -> dict[str, list[str]]:
    export = repo.parent / "hr.csv"
    export.write_text(csv_text)
    result = CliRunner().invoke(
        main,
        [
            "import",
            "csv",
            str(export),
            "--source",
            "hr",
            "-C",
            str(repo),
            "--format",
            "json",
            "--today",
            "2026-11-29",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_joiners_movers_leavers(repo: Path) -> None:
    first = _import(repo, HEADER + "".join(ROWS.values()), "--write-yaml")
    assert first["added"] == ["kay.jones", "lou.reed", "mo.farah"]
    path = repo / "identities" / "hr.yaml"
    # a reviewer's comment in the file survives the next import
    path.write_text(
        path.read_text().replace("  lou.reed:\n", "  # Lou runs the on-call rota\n  lou.reed:\n")
    )
    assert CliRunner().invoke(main, ["validate", str(repo)]).exit_code == 0

    dry = _import(repo, HEADER + ROWS["kay"].replace("Engineering", "Sales") + ROWS["lou"])
    assert dry == {"added": [], "changed": ["kay.jones"], "file": str(path), "left": ["mo.farah"]}
    assert "Engineering" in path.read_text()  # a dry run changes nothing

    joiner = "Ana,Lima,ana.lima@quickstart.example,Engineering,2004,active,\n"
    second = _import(
        repo,
        HEADER + ROWS["kay"].replace("Engineering", "Sales") + ROWS["lou"] + joiner,
        "--write-yaml",
    )
    assert second["added"] == ["ana.lima"]
    assert second["changed"] == ["kay.jones"]
    assert second["left"] == ["mo.farah"]
    text = path.read_text()
    assert "# Lou runs the on-call rota" in text
    assert "lifecycle_since: 2026-11-29" in text
    again = _import(
        repo,
        HEADER + ROWS["kay"].replace("Engineering", "Sales") + ROWS["lou"] + joiner,
        "--write-yaml",
    )
    assert again == {"added": [], "changed": [], "file": str(path), "left": []}
    assert path.read_text() == text  # the same import writes the same bytes

    plan = plan_repository(repo, dt.date(2026, 11, 29))
    lou = [o.change.entitlement for o in plan.orders if o.change.identity == "lou.reed"]
    assert "wiki-admins" in lou  # Admins group → ops-admin role


def test_bad_rows_change_nothing(repo: Path) -> None:
    export = repo.parent / "hr.csv"
    export.write_text(HEADER + ROWS["kay"] + ROWS["kay"] + ",,,,,,\n")
    result = CliRunner().invoke(
        main, ["import", "csv", str(export), "--source", "hr", "-C", str(repo), "--write-yaml"]
    )
    assert result.exit_code == 1
    assert "hr.csv:3: identity 'kay.jones' appears twice" in result.output
    assert "hr.csv:4: '.' is not a valid identity id" in result.output
    assert not (repo / "identities" / "hr.yaml").exists()


def test_unknown_source_is_named(repo: Path) -> None:
    export = repo.parent / "hr.csv"
    export.write_text(HEADER)
    result = CliRunner().invoke(
        main, ["import", "csv", str(export), "--source", "workday", "-C", str(repo)]
    )
    assert result.exit_code == 1
    assert "'workday' is not an identity source in accesshive.yaml (declared: hr)" in result.output


def test_records_without_yaml_are_merged_by_plan(repo: Path) -> None:
    _import(repo, HEADER + "".join(ROWS.values()))  # no --write-yaml: kept as records
    assert not (repo / "identities" / "hr.yaml").exists()
    plan = plan_repository(repo, dt.date(2026, 11, 29), store=StoreRef())
    assert plan.identities["lou.reed"]["from"] == "csv:hr"
    assert "wiki-admins" in {
        o.change.entitlement for o in plan.orders if o.change.identity == "lou.reed"
    }
    # the next export replaces the records: Lou left HR's system
    _import(repo, HEADER + ROWS["kay"] + ROWS["mo"])
    again = plan_repository(repo, dt.date(2026, 11, 29), store=StoreRef())
    assert "lou.reed" not in again.identities


def test_a_stored_record_that_does_not_validate_is_reported(repo: Path) -> None:
    """A record kept without --write-yaml is validated like YAML: an unknown lifecycle
    state is a warning naming the source and the record, which is left out of the plan,
    not silently, and not at the cost of every other identity's plan."""
    accesshive_yaml = repo / "accesshive.yaml"
    accesshive_yaml.write_text(
        accesshive_yaml.read_text().replace(
            "lifecycle_state: \"{{ 'leave' if status == 'leave' else 'active' }}\"",
            'lifecycle_state: "{{ status }}"',
        )
    )
    _import(repo, HEADER + ROWS["kay"].replace(",active,", ",nosuchstate,"))
    result = CliRunner().invoke(main, ["plan", str(repo), "--today", "2026-11-29"])
    assert result.exit_code == 0, result.output
    warning = next(line for line in result.output.splitlines() if "warning: identity" in line)
    assert "identity source 'hr' record" in warning and "nosuchstate" in warning
    assert "kay.jones" not in result.output.replace(warning, "")  # left out
    assert "grace.hopper (human, active)" in result.output  # everyone else plans
