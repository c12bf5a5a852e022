"""One account on a target is one person's: two identities whose values render one account
name on a source (two people called Grace Hopper, and the wiki's login
``{{ given_name|slug }}.{{ family_name|slug }}``) are refused at the identity, by
validate and plan alike, before anything is planned; otherwise both would be planned to
create ``grace.hopper``, and the second create could take over the first one's account
and its access. The real quickstart, through the CLI."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from accesshive.cli import main

NAMESAKE = """  grace.hopper2:
    type: human
    roles: [ops-admin]
    attributes:
      given_name: Grace
      family_name: HOPPER
      email: grace.hopper2@quickstart.example
      department: Operations
      employee_number: 1099
"""


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _add_namesake(repo: Path) -> None:
    people = repo / "identities" / "people.yaml"
    text = people.read_text()
    people.write_text(text.replace("  alan.turing:\n", NAMESAKE + "  alan.turing:\n", 1))


def test_two_identities_rendering_one_login_are_refused(synced_quickstart: Path) -> None:
    repo = synced_quickstart
    _add_namesake(repo)
    for command in ("validate", "plan"):
        done = _run(command, str(repo))
        assert done.exit_code == 1, done.output
        assert (
            "identities/people.yaml:20:3: error[ambiguous-account]: identity 'grace.hopper2': "
            "its account on source 'wiki' would be named 'grace.hopper' (login), as identity "
            "'grace.hopper''s is: one account cannot be two people's"
        ) in done.output
        assert "see: " in done.output and "people.yaml:11:3" in done.output
    assert not list(repo.glob("*.json"))


def test_the_same_display_name_on_a_manual_source_is_not_refused(
    synced_quickstart: Path,
) -> None:
    """On the badge system (manual), an account is named by the person's display name,
    which two people may share: only the wiki's login must differ."""
    repo = synced_quickstart
    _add_namesake(repo)
    wiki = repo / "sources" / "wiki.yaml"
    wiki.write_text(
        wiki.read_text().replace(
            'login: "{{ given_name|slug }}.{{ family_name|slug }}"', 'login: "{{ id }}"'
        )
    )
    done = _run("plan", str(repo))
    assert done.exit_code == 0, done.output
    assert "create account grace.hopper2 on wiki" in done.output
    assert done.output.count("create account Grace Hopper on badges") == 1
    assert "create account Grace HOPPER on badges" in done.output
