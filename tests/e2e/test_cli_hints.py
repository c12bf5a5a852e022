"""Every command the CLI tells a user to run works as printed, from where the user is.

A realistic session on a copy of the quick-start example, run from the directory *above*
the repository (so every hint must name it with ``-C``): sync, plan, show, apply, status,
tasks, state, audit, report, and a few mistakes. Every backticked ``accesshive ...`` in
what it prints is collected and run as printed; none may be a usage error (exit 2) or end
in a traceback.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from tests.conftest import EXAMPLES
from tests.support.ssh import keygen

HINT = re.compile(r"`(accesshive [^`]*)`")
TODAY = ["--today", "2026-11-29"]
REVIEW = """review:
  reviewers:
    alice:
      groups: [security]
      public_keys: ["{key}"]
  rules:
    - {{name: sensitive-grants, order_kinds: [grant], sensitive_only: true,
       reviewer_groups: [security], quorum: 1}}
"""


def _run(args: list[str], stdin: str = "") -> Result:
    return CliRunner().invoke(main, args, input=stdin)


def _clean(result: Result, args: list[str]) -> None:
    """No usage error, no traceback: what a user who copied the line must never see."""
    shown = " ".join(args)
    assert result.exit_code != 2, f"`{shown}` is a usage error:\n{result.output}"
    assert "Traceback" not in result.output, f"`{shown}`:\n{result.output}"
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), f"`{shown}` raised {result.exception!r}"


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES / "quickstart", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def _hints(results: list[Result]) -> list[str]:
    found: list[str] = []
    for result in results:
        for hint in HINT.findall(result.output):
            if hint not in found:
                found.append(hint)
    return found


def _reviewer(session: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer with a key where the hints expect it (~/.ssh/id_ed25519), listed in the
    repository's policies/review.yaml."""
    home = session / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    public = keygen(home / ".ssh" / "id_ed25519")
    (session / "repo" / "policies").mkdir()
    (session / "repo" / "policies" / "review.yaml").write_text(REVIEW.format(key=public))


def _words(hint: str) -> list[str]:
    """The hint's arguments, as a shell would give them (``~`` expanded)."""
    return [os.path.expanduser(w) for w in shlex.split(hint)[1:]]


def test_every_printed_hint_runs_as_printed(session: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer with a key where the PR comment's hint expects it (~/.ssh/id_ed25519)
    and listed in policies/review.yaml: every hint of the session runs as printed."""
    _reviewer(session, monkeypatch)
    steps = [
        ["sync", "repo"],
        ["state", "show", "--store", "empty.db"],  # no snapshots yet: run `accesshive sync`
        ["plan", "repo", "--out", "plan.json", *TODAY],
        ["show", "plan.json", "--format", "markdown", "-C", "repo"],
        ["apply", "plan.json", "-C", "repo", *TODAY],
        ["status", "repo", *TODAY],
        ["status", "repo", "--identity", "grace.hopper", *TODAY],
        ["tasks", "list", "repo"],
        ["tasks", "list", "repo", "--format", "markdown"],
        ["state", "show", "repo"],
        ["audit", "verify", "repo"],
        ["approvals", "verify", "plan.json", "-C", "repo"],
        ["report", "repo", "--no-sync", "--format", "markdown", *TODAY],
        ["tasks", "done", "T-nothing", "-C", "repo"],  # names the command that lists them
        ["apply", "repo"],  # no plan and no --auto-approve: says how
    ]
    results = []
    for args in steps:
        result = _run(args)
        results.append(result)
        assert "Traceback" not in result.output, result.output
    hints = _hints(results)
    gated = re.search(r"\| `([0-9a-f]{12})` \|", results[3].output)
    assert gated is not None
    waiting = sorted(re.findall(r"awaiting_approval .*\[([0-9a-f]{12})\]", results[4].output))
    assert gated.group(1) in waiting
    # the hints this session must show, each naming the repository it is about
    assert "accesshive apply plan.json -C repo" in hints
    assert "accesshive tasks list --format markdown -C repo" in hints
    assert "accesshive tasks list -C repo" in hints
    assert any(re.fullmatch(r"accesshive tasks done T-[0-9a-f]+ -C repo", h) for h in hints)
    assert "accesshive sync --store empty.db" in hints

    approve = [h for h in hints if h.startswith("accesshive approve ")]
    # the PR comment's, and apply's for the orders it left waiting
    assert approve == [
        "accesshive approve plan.json --all-gated --key ~/.ssh/id_ed25519 -C repo",
        f"accesshive approve plan.json --order {' --order '.join(waiting)} "
        "--key ~/.ssh/id_ed25519 -C repo",
    ]
    for hint in hints:
        words = _words(hint)
        result = _run(words)
        _clean(result, words)
        if hint in approve:  # the reviewer's own key, where the hint says: it signs
            assert result.exit_code == 0, result.output
            assert "as alice into" in result.output


def test_hints_need_no_c_when_run_from_the_repository(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reviewer(session, monkeypatch)
    monkeypatch.chdir(session / "repo")
    assert _run(["sync"]).exit_code == 0
    planned = _run(["plan", "--out", "plan.json", *TODAY])
    assert "apply it with `accesshive apply plan.json`." in planned.output
    applied = _run(["apply", "plan.json", *TODAY])
    assert "`accesshive tasks list --format markdown`" in applied.output
    for hint in _hints([planned, applied]):
        words = _words(hint)
        _clean(_run(words), words)


def test_a_plan_file_beside_its_repository_needs_no_c(session: Path) -> None:
    """The repository of a plan file is the current directory, or else the one holding it."""
    assert _run(["sync", "repo"]).exit_code == 0
    assert _run(["plan", "repo", "--out", "repo/plan.json", *TODAY]).exit_code == 0
    applied = _run(["apply", "repo/plan.json", *TODAY])
    assert applied.exit_code == 6, applied.output  # waits for approvals and a manual task
    assert "`accesshive tasks list --format markdown -C repo`" in applied.output


def test_hints_keep_the_environment_given_on_the_command_line(session: Path) -> None:
    store = "sqlite-store.db"
    # a store that does not exist yet: the hint that creates it keeps both
    absent = _run(["tasks", "list", "-C", "repo", "--store", store])
    assert absent.exit_code == 1
    assert f"`accesshive sync -C repo --store {store}`" in absent.output
    assert _run(["sync", "-C", "repo", "--store", store]).exit_code == 0
    missing = _run(["tasks", "done", "T-nothing", "-C", "repo", "--store", store])
    assert missing.exit_code == 1
    assert f"`accesshive tasks list -C repo --store {store}`" in missing.output


def test_a_store_url_with_a_password_is_never_printed(session: Path) -> None:
    url = "postgresql://app:s3cret-pw@127.0.0.1:1/none"
    result = _run(["state", "show", "repo", "--store", url])
    assert result.exit_code != 0
    assert "s3cret-pw" not in result.output


VAULT = """sources:
  vault:
    kind: vault
    connection: {path: .accesshive/vault.db, key_file: .accesshive/master.key}
"""
TOKEN = """  ci-token:
    type: api_key
    owner: ada.lovelace
    credential: {supplied_by: stdin}
"""


def test_a_hint_in_a_step_of_status_runs_from_another_directory(session: Path) -> None:
    """`status IDENTITY` shows each step's message; a message that says what to run (here:
    supply the missing secret) names the repository, and running it as printed, from
    the directory above the repository, fixes the step."""
    repo = session / "repo"
    (repo / "sources" / "vault.yaml").write_text(VAULT)
    with (repo / "identities" / "people.yaml").open("a") as fh:
        fh.write(TOKEN)
    made = _run(["vault", "init", "--key-file", "repo/.accesshive/master.key"])
    assert made.exit_code == 0, made.output
    assert _run(["sync", "repo"]).exit_code == 0
    applied = _run(["apply", "repo", "--auto-approve", *TODAY])
    assert applied.exit_code == 1, applied.output  # no value was supplied for ci-token
    detail = _run(["status", "repo", "ci-token", *TODAY])
    assert detail.output.startswith("error        ci-token"), detail.output
    (hint,) = _hints([detail])
    assert hint == "accesshive vault put ci-token -C repo"
    put = _run(shlex.split(hint)[1:], stdin="tok-0123456789")
    _clean(put, shlex.split(hint))
    assert put.exit_code == 0, put.output
    retried = _run(["retry", "ci-token", "-C", "repo", *TODAY])
    assert retried.exit_code == 0, retried.output
    assert _run(["status", "repo", "ci-token", *TODAY]).output.startswith("provisioned  ci-token")


def test_show_without_c_names_the_plans_repository(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`show PLAN` without -C, from outside the repository: the approve hint names the
    repository holding the plan, so it runs as printed from here (and from anywhere the
    plan path is right). A reviewer is declared: without one, the comment says to
    declare them instead (``test_no_reviewer_comment.py``)."""
    _reviewer(session, monkeypatch)
    assert _run(["sync", "repo"]).exit_code == 0
    assert _run(["plan", "repo", "--out", "repo/plan.json", *TODAY]).exit_code == 0
    shown = _run(["show", "repo/plan.json", "--format", "markdown"])
    (approve,) = [h for h in _hints([shown]) if h.startswith("accesshive approve")]
    assert (
        approve == "accesshive approve repo/plan.json --all-gated --key ~/.ssh/id_ed25519 -C repo"
    )


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clone of accesshive, as a fresh user has it: the example two levels down, the
    current directory the clone's root (no accesshive.yaml), a reviewer with a key."""
    shutil.copytree(EXAMPLES / "quickstart", tmp_path / "examples" / "quickstart")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    public = keygen(home / ".ssh" / "id_ed25519")
    policies = tmp_path / "examples" / "quickstart" / "policies"
    policies.mkdir()
    (policies / "review.yaml").write_text(REVIEW.format(key=public))
    assert _run(["sync", "examples/quickstart"]).exit_code == 0
    assert _run(["plan", "examples/quickstart", "--out", "plan.json", *TODAY]).exit_code == 0
    return tmp_path


def test_show_from_the_clone_root_names_the_repository_below(clone: Path) -> None:
    """`plan examples/quickstart --out plan.json`, then `show plan.json --format markdown`
    from the clone's root: the plan is neither here nor beside its repository, yet the
    approve hint names the repository, and signs when copied."""
    shown = _run(["show", "plan.json", "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    (approve,) = [h for h in _hints([shown]) if h.startswith("accesshive approve")]
    assert approve == (
        "accesshive approve plan.json --all-gated --key ~/.ssh/id_ed25519 -C examples/quickstart"
    )
    signed = _run(_words(approve))
    assert signed.exit_code == 0, signed.output
    assert "as alice into examples/quickstart/approvals/" in signed.output


def test_show_in_the_repository_prints_the_comment_unchanged(clone: Path) -> None:
    """CI runs `show` in the repository: the comment is exactly what renders, no -C."""
    from accesshive.plan.planfile import read_plan
    from accesshive.render import render_markdown

    shutil.copy(clone / "plan.json", clone / "examples" / "quickstart" / "plan.json")
    os.chdir(clone / "examples" / "quickstart")
    shown = _run(["show", "plan.json", "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == render_markdown(read_plan(Path("plan.json")), plan_file="plan.json")
    assert " -C " not in shown.stdout


def test_show_guesses_no_repository_when_two_could_hold_the_plan(clone: Path) -> None:
    """Two copies of the project below: which one the plan is of cannot be told, so no
    hint names either; `show` says to give it with -C."""
    shutil.copytree(clone / "examples" / "quickstart", clone / "copy" / "quickstart")
    shown = _run(["show", "plan.json", "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    assert "-C examples/quickstart" not in shown.stdout
    assert "give it to show with -C DIR" in shown.stderr


def test_an_edited_plan_is_refused_with_the_command_that_makes_it_again(clone: Path) -> None:
    edited = clone / "plan-edited.json"
    edited.write_text((clone / "plan.json").read_text().replace('"author": null', '"author": "x"'))
    again = "accesshive plan --out plan-edited.json -C examples/quickstart"
    for command in (["show"], ["graph"], ["apply", "-C", "examples/quickstart"]):
        refused = _run([*command, "plan-edited.json"])
        assert refused.exit_code == 1, refused.output
        assert "was modified after it was written" in refused.stderr
        assert refused.stderr.rstrip().endswith(f"`{again}`"), refused.stderr
        if command == ["graph"]:
            continue  # graph has no --format json
        as_json = _run([*command, "plan-edited.json", "--format", "json"])
        error = json.loads(as_json.stdout)["error"]
        assert error["hint"] == f"`{again}`", error
    made = _run(_words(again) + TODAY)
    assert made.exit_code == 0, made.output
    assert _run(["show", "plan-edited.json"]).exit_code == 0


def test_a_stale_plan_is_refused_with_the_command_that_makes_it_again(clone: Path) -> None:
    """The configuration changed after `plan`: apply refuses the plan and says how to make
    it again, with this run's -C and --store; that command, run as printed, makes a plan
    that applies."""
    store = "stale.db"
    repo = ["-C", "examples/quickstart", "--store", store]
    assert _run(["sync", *repo]).exit_code == 0
    assert _run(["plan", "--out", "plan.json", *repo, *TODAY]).exit_code == 0
    people = clone / "examples" / "quickstart" / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("Staff Engineer", "Principal Engineer"))
    refused = _run(["apply", "plan.json", *repo, *TODAY, "--format", "json"])
    error = json.loads(refused.stdout)["error"]
    again = f"accesshive plan --out plan.json -C examples/quickstart --store {store}"
    assert (error["kind"], error["hint"]) == ("stale_plan", f"`{again}`")
    assert error["message"].endswith(f"plan again: `{again}`")
    made = _run(_words(again) + TODAY)
    assert made.exit_code == 0, made.output
    applied = _run(["apply", "plan.json", *repo, *TODAY])
    assert applied.exit_code == 6, applied.output  # applied; gated orders wait


def test_apply_of_a_plan_file_says_how_to_get_the_approvals_it_waits_for(clone: Path) -> None:
    """`apply plan.json` leaves gated orders awaiting approval: it says how to get them
    approved, as `apply --auto-approve` does, and the commands run as printed."""
    applied = _run(["apply", "plan.json", "-C", "examples/quickstart", *TODAY])
    assert applied.exit_code == 6, applied.output
    waiting = sorted(re.findall(r"awaiting_approval .*\[([0-9a-f]{12})\]", applied.output))
    assert waiting
    told = f"Waiting for approval ({len(waiting)}): {', '.join(waiting)}. To have them approved:"
    assert told in applied.output
    hints = _hints([applied])
    approve = (
        f"accesshive approve plan.json --order {' --order '.join(waiting)} "
        "--key ~/.ssh/id_ed25519 -C examples/quickstart"
    )
    assert approve in hints
    signed = _run(_words(approve))
    assert signed.exit_code == 0, signed.output
    again = "accesshive apply plan.json --identity grace.hopper -C examples/quickstart"
    assert again in hints
    reapplied = _run(_words(again) + TODAY)
    assert "awaiting_approval" not in reapplied.output, reapplied.output


def test_a_failed_apply_asks_approval_for_the_blocked_gated_orders_too(clone: Path) -> None:
    """The wiki is unreachable: its gated orders are blocked below the failure and still
    unapproved. The summary names every one of them with the awaiting ones, and the
    approve command it prints signs them all: one round of approvals, and once the wiki
    is back the next apply leaves nothing waiting for approval."""
    wiki = clone / "examples" / "quickstart" / ".accesshive" / "wiki-app.db"
    kept = wiki.with_name("wiki-app.kept")
    wiki.rename(kept)
    wiki.mkdir()  # the wiki's database cannot be opened
    applied = _run(["apply", "plan.json", "-C", "examples/quickstart", *TODAY])
    assert applied.exit_code != 0, applied.output
    gated = sorted(
        re.findall(
            r"(?:awaiting_approval|blocked) .*\[([0-9a-f]{12})\]\n.*needs 1 more approval",
            applied.output,
        )
    )
    blocked = re.findall(r"blocked .*\[([0-9a-f]{12})\]\n.*needs 1 more approval", applied.output)
    assert blocked, applied.output
    told = f"Waiting for approval ({len(gated)}): {', '.join(gated)}. To have them approved:"
    assert told in applied.output
    approve = (
        f"accesshive approve plan.json --order {' --order '.join(gated)} "
        "--key ~/.ssh/id_ed25519 -C examples/quickstart"
    )
    assert approve in _hints([applied])
    signed = _run(_words(approve))
    assert signed.exit_code == 0, signed.output
    wiki.rmdir()
    kept.rename(wiki)
    reapplied = _run(["apply", "plan.json", "-C", "examples/quickstart", *TODAY])
    assert "approval" not in reapplied.output, reapplied.output


def test_approve_signs_nothing_for_a_plan_the_configuration_no_longer_makes(
    clone: Path,
) -> None:
    """The configuration changed after `plan`: apply would refuse the plan, so approve
    refuses to sign for it (approvals nobody could use), writes no approvals file, and
    says how to make the plan again."""
    repo = ["-C", "examples/quickstart"]
    people = clone / "examples" / "quickstart" / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("Staff Engineer", "Principal Engineer"))
    key = ["--key", str(clone / "home" / ".ssh" / "id_ed25519")]
    refused = _run(["approve", "plan.json", "--all-gated", *key, *repo])
    assert refused.exit_code == 1, refused.output
    again = "accesshive plan --out plan.json -C examples/quickstart"
    assert "the configuration changed since this plan was made" in refused.output
    assert refused.output.rstrip().endswith(f"plan again: `{again}`"), refused.output
    assert not (clone / "examples" / "quickstart" / "approvals").exists()
    # nor does `approvals verify` pass it (a CI gate on it would let it through)
    verified = _run(["approvals", "verify", "plan.json", *repo])
    assert verified.exit_code == 1, verified.output
    assert "the configuration changed since this plan was made" in verified.output
    assert "apply would refuse it, approved or not; plan again" in verified.output
    assert _run(_words(again) + TODAY).exit_code == 0
    signed = _run(["approve", "plan.json", "--all-gated", *key, *repo])
    assert signed.exit_code == 0, signed.output


def test_an_edited_plan_whose_repository_is_not_known_here_says_to_give_it(
    session: Path,
) -> None:
    """An edited plan refused from a directory that is no repository, its own nowhere
    here, beside it or below: the command that makes it again cannot name the repository,
    so it says `-C REPO` and what REPO is (without it, it would fail with "no
    accesshive.yaml"); with REPO filled in, it runs."""
    assert _run(["sync", "repo"]).exit_code == 0
    assert _run(["plan", "repo", "--out", "plan.json", *TODAY]).exit_code == 0
    elsewhere = session / "elsewhere"
    elsewhere.mkdir()
    edited = (session / "plan.json").read_text().replace('"author": null', '"author": "x"')
    (elsewhere / "plan.json").write_text(edited)
    os.chdir(elsewhere)
    again = "`accesshive plan --out plan.json -C REPO`"
    told = f"{again}, where REPO is the repository the plan was made from"
    for command in (["show"], ["graph"], ["apply"]):
        refused = _run([*command, "plan.json"])
        assert refused.exit_code == 1, refused.output
        assert refused.stderr.startswith("Error: plan.json was modified after it was written")
        assert refused.stderr.rstrip().endswith(f"plan again instead of editing it: {told}")
        if command == ["graph"]:
            continue  # graph has no --format json
        error = json.loads(_run([*command, "plan.json", "--format", "json"]).stdout)["error"]
        assert error["hint"] == told, error
    made = _run(["plan", "--out", "plan.json", "-C", str(session / "repo"), *TODAY])
    assert made.exit_code == 0, made.output
    assert _run(["show", "plan.json"]).exit_code == 0


def test_show_names_no_repository_of_the_same_project_made_of_another_configuration(
    clone: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A plan made from another repository that is also called `quickstart` (its
    configuration differs), shown from the clone's root: the example below is of the
    same project but not the plan's, so no hint names it (approving there would only
    say the configuration changed); `show` says to give -C."""
    mine = tmp_path_factory.mktemp("mine")
    shutil.copytree(clone / "examples" / "quickstart", mine / "quickstart")
    people = mine / "quickstart" / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("Staff Engineer", "Principal Engineer"))
    assert _run(["sync", str(mine / "quickstart")]).exit_code == 0
    plan = mine / "x.json"
    made = _run(["plan", str(mine / "quickstart"), "--out", str(plan), *TODAY])
    assert made.exit_code == 0, made.output
    shown = _run(["show", str(plan), "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    (approve,) = [h for h in _hints([shown]) if h.startswith("accesshive approve")]
    assert approve == f"accesshive approve {plan} --all-gated --key ~/.ssh/id_ed25519"
    assert shown.stderr == (
        f"warning: which repository {plan} belongs to is not known here (none here, beside "
        "it or below holds the configuration it was made from, or several do): run the "
        "commands above from it, or give it to show with -C DIR\n"
    )
    # with -C, the hints name it
    given = _run(["show", str(plan), "--format", "markdown", "-C", str(mine / "quickstart")])
    assert f"-C {mine / 'quickstart'}" in given.stdout


def test_where_no_reviewer_is_declared_the_approval_hint_says_to_declare_one_first(
    session: Path,
) -> None:
    """The shipped policy gates sensitive grants and names no reviewer: an `approve` hint
    alone would fail whatever key is given. The quickstart run as the README shows it
    says to declare a reviewer first, in the file to edit, named from here."""
    applied = _run(["apply", "repo", "--auto-approve", *TODAY])
    _clean(applied, ["apply"])
    assert applied.exit_code == 6, applied.output
    (line,) = [ln for ln in applied.output.splitlines() if ln.startswith("Waiting for approval")]
    assert line.endswith(
        "No reviewer is declared to approve them: list reviewers, with their public keys, "
        "under review.reviewers in repo/policies/review.yaml (README: 'Review gates and "
        "approvals'), then sign a saved plan:"
    ), line
    hints = _hints([applied])
    assert "accesshive plan --out plan.json -C repo" in hints
    approve = [h for h in hints if h.startswith("accesshive approve plan.json --order ")]
    assert len(approve) == 1 and approve[0].endswith("--key ~/.ssh/id_ed25519 -C repo")


def test_a_plan_before_any_sync_says_to_sync_and_the_hint_does_it(session: Path) -> None:
    """Planned before a sync, every account looks missing: the plan says which command
    reads the sources, and once it has run as printed no source is planned as empty."""
    before = _run(["plan", "repo", *TODAY])
    assert before.exit_code == 0, before.output
    assert "source 'wiki' has no snapshot" in before.output
    assert _hints([before]) == ["accesshive sync -C repo"]
    assert "hint: read these sources with `accesshive sync -C repo`, then plan again." in (
        before.stdout
    )
    synced = _run(_words("accesshive sync -C repo"))
    assert synced.exit_code == 0, synced.output
    after = _run(["plan", "repo", *TODAY])
    assert after.exit_code == 0, after.output
    assert "has no snapshot" not in after.output
    assert "accesshive sync" not in after.output


def test_a_comment_read_elsewhere_names_the_plan_as_reviewers_save_it(
    clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI renders the comment with `--plan-name plan.json` (examples/ci/scripts/pr-plan.sh):
    its approve command names none of the runner's paths, says where to run it, and signs
    when copied in a checkout of the pull request holding the run's plan file."""
    args = ["show", "plan.json", "--format", "markdown", "-C", "examples/quickstart"]
    shown = _run([*args, "--plan-name", "plan.json"])
    assert shown.exit_code == 0, shown.output
    assert "Approve from your checkout of this pull request, with this run's plan file " in (
        shown.output
    )
    (approve,) = [h for h in _hints([shown]) if h.startswith("accesshive approve")]
    assert approve == "accesshive approve plan.json --all-gated --key ~/.ssh/id_ed25519"
    checkout = clone / "examples" / "quickstart"
    shutil.copy(clone / "plan.json", checkout / "plan.json")  # the artefact, downloaded
    monkeypatch.chdir(checkout)
    signed = _run(_words(approve))
    assert signed.exit_code == 0, signed.output
    assert "as alice into approvals/" in signed.output
