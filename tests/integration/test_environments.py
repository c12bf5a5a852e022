"""Environments: overlays and stores per environment; promotion sandbox → production."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.config import load_config
from accesshive.errors import PromotionError
from accesshive.operations import StoreRef, apply_plan, plan_repository, promote
from accesshive.store import open_store
from tests.conftest import EXAMPLES

TODAY = dt.date(2026, 11, 29)

ENVIRONMENTS = """
default_environment: sandbox
environments:
  sandbox:
    description: Try every change here first.
    connections:
      wiki: {url: "sqlite:///.accesshive/wiki-sandbox.db"}
  production:
    store: .accesshive/production-state.db
    require_promotion_from: sandbox
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    (dest / "accesshive.yaml").write_text((dest / "accesshive.yaml").read_text() + ENVIRONMENTS)
    return dest


def _apply(repo: Path, env: str):  # type: ignore[no-untyped-def]
    store = StoreRef(env)
    runner = CliRunner()
    assert runner.invoke(main, ["sync", str(repo), "--env", env]).exit_code == 0
    plan = plan_repository(repo, TODAY, store=store)
    return plan, apply_plan(repo, plan, store, TODAY, "ci")


def test_overlays_and_stores_per_environment(repo: Path) -> None:
    sandbox = load_config(repo)
    production = load_config(repo, "production")
    assert sandbox.environment == "sandbox"
    assert sandbox.sources["wiki"].connection["url"] == "sqlite:///.accesshive/wiki-sandbox.db"
    assert production.sources["wiki"].connection["url"] == "sqlite:///.accesshive/wiki-app.db"
    assert sandbox.digest == production.digest  # the same config in both
    assert StoreRef().name(repo) == "sandbox"
    assert StoreRef("production").location(repo) == ".accesshive/production-state.db"


def test_unknown_environment_is_a_clear_error(repo: Path) -> None:
    valid = CliRunner().invoke(main, ["validate", str(repo), "--env", "production"])
    assert valid.exit_code == 0, valid.output
    for command in (["validate", str(repo)], ["plan", str(repo)]):
        result = CliRunner().invoke(main, command, env={"ACCESSHIVE_ENV": "prod"})
        assert result.exit_code == 1
        assert "environment 'prod' is not declared in accesshive.yaml" in result.output
        assert "declared: production, sandbox" in result.output
    # commands that only open the store refuse it too, and create no store for it
    for command in (["tasks", "list", str(repo)], ["status", str(repo)], ["sync", str(repo)]):
        result = CliRunner().invoke(main, [*command, "--env", "prod"])
        assert result.exit_code != 0, (command, result.output)
        assert "environment 'prod' is not declared in accesshive.yaml" in result.output
        assert "declared: production, sandbox" in result.output
    assert not list((repo / ".accesshive").glob("prod*"))


def _gate_approved(repo: Path) -> None:
    """Drop the review gates, so that a sandbox apply can be complete."""
    (repo / "policies").mkdir(exist_ok=True)
    (repo / "policies" / "review.yaml").write_text("review:\n  rules: []\n")
    export = repo / "exports" / "badges.csv"
    export.write_text(
        "external_id,enabled,grants,badge_holder,email\n"
        "B-100,true,office-hq,Ada Lovelace,ada.lovelace@quickstart.example\n"
        "B-101,true,office-hq;server-room,Grace Hopper,grace.hopper@quickstart.example\n"
        "B-102,false,office-hq,Alan Turing,alan.turing@quickstart.example\n"
    )


def test_production_refuses_what_was_not_promoted(repo: Path) -> None:
    _gate_approved(repo)
    with pytest.raises(PromotionError, match="applies only configs promoted from 'sandbox'"):
        _apply(repo, "production")


def test_promotion_refusals_and_success(repo: Path) -> None:
    _gate_approved(repo)
    with pytest.raises(PromotionError, match=r"was not applied in 'sandbox'.*has applied nothing"):
        promote(repo, "sandbox", "production", "ci")
    _, result = _apply(repo, "sandbox")
    assert result.status == "complete", result.messages
    done = promote(repo, "sandbox", "production", "ci")
    assert done.config_digest == load_config(repo).digest
    _, prod = _apply(repo, "production")
    assert prod.status == "complete"
    # a new change: the sandbox applied an older digest
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("Staff Engineer", "Principal Engineer"))
    with pytest.raises(
        PromotionError, match="was not applied in 'sandbox' \\(it last applied config"
    ):
        promote(repo, "sandbox", "production", "ci")


def test_promotion_refuses_an_unclean_sandbox_apply(repo: Path) -> None:
    _, result = _apply(repo, "sandbox")  # gated orders wait: not every order verified
    assert result.status == "incomplete"
    runner = CliRunner()
    refused = runner.invoke(main, ["promote", str(repo), "--from", "sandbox", "--to", "production"])
    assert refused.exit_code == 1
    assert "was applied in 'sandbox' but not cleanly" in refused.output
    assert "orders not verified:" in refused.output
    # its hints run as printed
    status = refused.output.split("`accesshive status ")[1].split("`")[0].split()
    shown = runner.invoke(main, ["status", *status])
    assert shown.exit_code == 0, shown.output
    listed = refused.output.split("`accesshive tasks list ")[1].split("`")[0].split()
    assert runner.invoke(main, ["tasks", "list", *listed]).exit_code == 0
    again = refused.output.split("`accesshive apply ")[1].split("`")[0].split()
    assert runner.invoke(main, ["apply", *again, "--today", "2026-11-29"]).exit_code == 6


def test_a_change_that_drops_the_promotion_requirement_must_itself_be_promoted(
    repo: Path,
) -> None:
    """Production applied a promoted config, so its requirement is in force: a change
    that deletes `require_promotion_from` (and changes something else) is still refused
    there until promoted, and the plan says the requirement changed."""
    _gate_approved(repo)
    assert _apply(repo, "sandbox")[1].status == "complete"
    promote(repo, "sandbox", "production", "ci")
    assert _apply(repo, "production")[1].status == "complete"
    project = repo / "accesshive.yaml"
    project.write_text(project.read_text().replace("    require_promotion_from: sandbox\n", ""))
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("Staff Engineer", "Principal Engineer"))
    store = StoreRef("production")
    plan = plan_repository(repo, TODAY, store=store)
    assert (
        "require_promotion_from: sandbox → none (the change is applied here only once "
        in (plan.warnings[0])
    )
    with pytest.raises(PromotionError, match="applies only configs promoted from 'sandbox'"):
        apply_plan(repo, plan, store, TODAY, "ci")
    # promoted from a clean sandbox apply, it is applied, and nothing is required any more
    assert _apply(repo, "sandbox")[1].status == "complete"
    promote(repo, "sandbox", "production", "ci")
    assert _apply(repo, "production")[1].status == "complete"
    people.write_text(people.read_text().replace("Principal Engineer", "Distinguished Engineer"))
    assert _apply(repo, "production")[1].status == "complete"


def test_pointing_the_promotion_requirement_at_another_environment_is_still_refused(
    repo: Path,
) -> None:
    """The change names a new environment `prod` as production's origin, and applies and
    promotes there: production still takes only what sandbox (the origin in force)
    applied and promoted."""
    _gate_approved(repo)
    assert _apply(repo, "sandbox")[1].status == "complete"
    promote(repo, "sandbox", "production", "ci")
    assert _apply(repo, "production")[1].status == "complete"
    project = repo / "accesshive.yaml"
    project.write_text(
        project.read_text().replace(
            "    require_promotion_from: sandbox\n",
            "    require_promotion_from: prod\n  prod:\n    connections:\n"
            '      wiki: {url: "sqlite:///.accesshive/wiki-prod.db"}\n',
        )
    )
    people = repo / "identities" / "people.yaml"
    people.write_text(people.read_text().replace("Staff Engineer", "Principal Engineer"))
    assert _apply(repo, "prod")[1].status == "complete"
    promote(repo, "prod", "production", "ci")
    with pytest.raises(PromotionError, match="applies only configs promoted from 'sandbox'"):
        _apply(repo, "production")


def test_a_plan_names_its_environment_and_is_applied_only_there(repo: Path) -> None:
    """The sandbox's plan and production's hold the same orders when both environments
    see the same state, but an approval of one is not one of the other: the plan names
    its environment (so its digest differs), and apply refuses it elsewhere."""
    runner = CliRunner()
    for env in ("sandbox", "production"):
        assert runner.invoke(main, ["sync", str(repo), "--env", env]).exit_code == 0
    sandbox = plan_repository(repo, TODAY, store=StoreRef("sandbox"))
    production = plan_repository(repo, TODAY, store=StoreRef("production"))
    assert (sandbox.environment, production.environment) == ("sandbox", "production")
    assert [o.id for o in sandbox.orders] == [o.id for o in production.orders]
    assert sandbox.digest != production.digest
    out = repo.parent / "sandbox-plan.json"
    made = runner.invoke(main, ["plan", str(repo), "--out", str(out), "--today", "2026-11-29"])
    assert made.exit_code == 0, made.output
    refused = runner.invoke(
        main, ["apply", str(out), "-C", str(repo), "--env", "production", "--today", "2026-11-29"]
    )
    assert refused.exit_code != 0
    assert "this plan was made for environment 'sandbox'" in refused.output, refused.output
    assert "Apply it with --env sandbox" in refused.output
    with open_store(repo, "production", ".accesshive/production-state.db") as store:
        assert store.runs() == []  # nothing ran in production
