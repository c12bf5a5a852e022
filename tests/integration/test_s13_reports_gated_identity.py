"""The PR comment's "Waiting for review" table names each gated order's identity by its
id: a newcomer given an existing person's name (a manual task's account is named by its
display name, "Grace Hopper") cannot pass for her in the row a reviewer approves from.
The real quickstart, through the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from accesshive.cli import main
from tests.unit.test_plan_comment import read, table_after

TODAY = "2026-11-29"
NEWCOMER = """  temp.contractor7:
    type: human
    roles: [ops-admin]
    attributes: {given_name: Grace, family_name: Hopper, email: gh.contractor@quickstart.example,
      department: Sales, employee_number: 4001}
"""


def test_each_waiting_row_names_the_identity(synced_quickstart: Path) -> None:
    people = synced_quickstart / "identities" / "people.yaml"
    people.write_text(people.read_text() + NEWCOMER)
    # their wiki logins are their ids: one login cannot be two people's
    wiki = synced_quickstart / "sources" / "wiki.yaml"
    login = 'login: "{{ given_name|slug }}.{{ family_name|slug }}"'
    wiki.write_text(wiki.read_text().replace(login, 'login: "{{ id }}"'))
    result = CliRunner().invoke(
        main, ["plan", str(synced_quickstart), "--format", "markdown", "--today", TODAY]
    )
    assert result.exit_code == 0, result.output
    table = table_after(read(result.stdout), "Waiting for review")
    assert table.header[:3] == ["order", "identity", "what"]
    badge = "grant server-room on badges to Grace Hopper"
    holders = sorted(row[1] for row in table.rows if badge in row[2])
    # the same words twice, told apart by who each is
    assert holders == ["grace.hopper", "temp.contractor7"]
