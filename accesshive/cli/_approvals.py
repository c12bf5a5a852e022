"""Commands that gather reviewers' verdicts on a plan's orders: ``approve`` and
``decline`` (sign) and the ``approvals`` group (``verify``, ``from-github``)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from accesshive.cli._options import actor, format_option, handles_errors, store_options
from accesshive.cli._plan_files import plan_again, read_saved
from accesshive.cli._repository import PLAN_REPOSITORY_HELP, dir_option, runnable
from accesshive.errors import EXIT_ERROR, EXIT_WAITING, StalePlanError

if TYPE_CHECKING:
    from accesshive.config import Config
    from accesshive.plan.model import Plan

F = TypeVar("F", bound=Callable[..., Any])


def signer_options(func: F) -> F:
    """``--key``, ``--as`` and ``-C``: who signs (approve and decline sign alike)."""
    for option in reversed(
        (
            click.option(
                "--key",
                "key_path",
                type=click.Path(dir_okay=False, exists=True, path_type=Path),
                required=True,
                help=(
                    "Your SSH key, for ssh-keygen -Y sign: a private key file (ssh-keygen "
                    "asks its passphrase, or a security key's touch), or a public key (.pub) "
                    "whose private key ssh-agent holds."
                ),
            ),
            click.option(
                "--as",
                "reviewer",
                default=None,
                help="Your reviewer name in policies/review.yaml (default: the reviewer it "
                "lists the key for).",
            ),
            dir_option(
                "The config repository; the approvals file goes in its approvals/ (default: "
                "the current directory; the directory holding the plan file when the "
                "current one is not a repository)."
            ),
            handles_errors,
        )
    ):
        func = option(func)
    return func


def _still_declined(config: Config, plan: Plan, reviewer: str, orders: set[str]) -> list[str]:
    """Of ``orders``, those ``reviewer`` still declines (in the repository's approvals
    files): approving them does not undo the decline."""
    from accesshive.approvals.operations import check_declines
    from accesshive.errors import ApprovalError

    try:
        held = check_declines(config, plan, None)
    except ApprovalError:  # an untrusted decline: apply and verify say so, naming it
        return []
    return sorted(oid for oid in orders if any(d.reviewer == reviewer for d in held.get(oid, [])))


def _policy_changes(plan: Plan) -> list[str]:
    """The plan's warning that this change edits the review policies: approvals are then
    judged by the policies in force as well, which a reviewer must know before relying
    on their signature (or on a verdict)."""
    from accesshive.policies_in_force import policy_warnings

    return policy_warnings(plan.warnings)


def _refuse_stale(plan_file: Path, plan: Plan, config_digest: str, consequence: str) -> None:
    """A plan made from another configuration than the repository's: apply would refuse
    it, so neither signing nor a verdict of its approvals means anything."""
    with plan_again(plan_file):
        if config_digest != plan.config_digest:
            raise StalePlanError(
                f"the configuration changed since this plan was made (plan for config "
                f"{plan.config_digest[:12]}, repository now {config_digest[:12]}): "
                f"{consequence}; plan again"
            )


def gated_line(plan: Plan, oid: str) -> str:
    """A gated order as ``approve`` and ``approvals verify`` list it: its id, what it
    does, and the identity it is for by id. Why the id: a manual task names the account
    by the person's display name, which a newcomer can share (or borrow); identity ids
    are ASCII and unique, so the reviewer sees whose access it is. The plan's policy
    change (``policy-change``) says what it adds to or loosens in the policies in force."""
    from accesshive.plan.model import POLICY_CHANGE
    from accesshive.render.describe import summary_line
    from accesshive.terminal_text import shown

    if oid == POLICY_CHANGE:
        change = plan.policy_change
        what = change.summary() if change else "the plan file does not say what: plan again"
        return f"{oid}  {shown(what)}  (the review policies in force)"
    order = plan.order(oid)
    who = order.change.identity
    whose = f"  (identity {who})" if who else "  (no identity)"
    return f"{order.id}  {shown(summary_line(order))}{whose}"


@click.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--order", "orders", multiple=True, help="A gated order to approve (repeatable).")
@click.option("--all-gated", is_flag=True, help="Approve every gated order of the plan.")
@signer_options
@store_options
def approve(
    plan_file: Path,
    orders: tuple[str, ...],
    all_gated: bool,
    key_path: Path,
    reviewer: str | None,
    directory: Path,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Sign approvals of gated orders into approvals/<plan-digest>.yaml (commit it).

    Exits 6 when none of the approvals signed counts under the policies in force (the
    reviewer is not in force yet, the plan's author is not on record...), saying why
    first: the orders still wait for review."""
    from accesshive.approvals.model import FIRST_REVIEWERS, Gated, own_access
    from accesshive.approvals.operations import (
        not_counting,
        own_orders,
        reviewer_of_key,
        sign_approvals,
        who_else,
    )
    from accesshive.operations import StoreRef, approval_verdicts
    from accesshive.pipeline import load_config
    from accesshive.terminal_text import shown

    config = load_config(directory, environment)
    reviewer = reviewer or reviewer_of_key(config, key_path)
    plan = read_saved(plan_file)
    _refuse_stale(plan_file, plan, config.digest, "its approvals could never be used")
    still = _still_declined(config, plan, reviewer, {o.id for o in plan.orders if o.gate})
    path, made = sign_approvals(
        config, plan, key_path, reviewer, list(orders), all_gated, frozenset(still)
    )
    # judged as verify and apply judge them: the policies in force, the author on record
    verdicts = approval_verdicts(directory, plan, StoreRef(environment, store_url, create=False))
    void = not_counting(verdicts, made)
    # while no reviewer is in force (a new project's first ones), not counting yet is a
    # step, not a refusal: the plan's apply puts them in force, its next one counts them
    first = [a for a, why in void if why.endswith(FIRST_REVIEWERS)]
    if first:
        void = [(a, why) for a, why in void if not why.endswith(FIRST_REVIEWERS)]
    if made and void and len(void) == len(made):
        click.echo(
            click.style(
                f"none of the {len(made)} approval(s) signed as {reviewer} will count, "
                "so no order is approved by them (`accesshive approvals verify` says the same):",
                fg="red",
            )
        )
        for a, why in void:
            click.echo(f"  not counted: {a.order} ({shown(why)})")
        click.echo(
            f"signed {len(made)} approval(s) as {reviewer} into {path}, "
            "which count for nothing as things stand:"
        )
    else:
        click.echo(
            f"signed {len(made)} approval(s) as {reviewer} into {path}; commit it to the PR:"
        )
    for a in made:
        click.echo(f"  {gated_line(plan, a.order)}")
    if void and len(void) < len(made):
        click.echo(f"{len(void)} of them will not count:")
        for a, why in void:
            click.echo(f"  not counted: {a.order} ({shown(why)})")
    if first:
        again = shlex.quote(str(plan_file))
        click.echo(
            f"note: no reviewer is in force yet (the policies last applied name none), so "
            f"{len(first)} of them count only once the reviewers this change declares are: "
            "apply the plan, which puts them in force (its gated orders wait), then apply "
            "it again and these approvals count: "
            + runnable(f"`accesshive apply {again}`")
            + ", twice"
        )
    for changed in _policy_changes(plan):  # what apply will judge these approvals by
        click.echo(f"note: {changed}")
    if all_gated and still:
        withdraw = shlex.quote(str(plan_file)) + " --order " + " --order ".join(still)
        click.echo(
            f"not signed: {', '.join(still)}, which you still decline; to approve them, "
            "withdraw the decline first: "
            + runnable(f"`accesshive decline {withdraw} --withdraw --key {key_path}`")
        )
    if config.policies.review.require_author and not plan.author:
        from accesshive.approvals.model import UNATTESTED

        click.echo(f"note: they count only once {UNATTESTED}")
    mine = own_orders(config, plan, reviewer)
    if all_gated:  # --all-gated passes over the reviewer's own access, saying whom to ask
        for oid, why in sorted(mine.items()):
            click.echo(
                f"not signed: {oid}, {own_access(why)} "
                f"({who_else(config, plan, Gated.of(plan.order(oid)), reviewer)})"
            )
            click.echo(f"  {gated_line(plan, oid)}")
    signed = {a.order for a in made}
    unsigned = [
        o
        for o in plan.orders
        if o.gate and o.id not in signed and o.id not in still and o.id not in mine
    ]
    left = sorted({o.gate.wanted() for o in unsigned if o.gate})
    if all_gated and left:  # --all-gated signs only where the approval counts
        others = len(unsigned)
        click.echo(
            f"not signed: {others} gated order(s) that need approval from groups {reviewer} "
            f"is not in ({'; '.join(left)})"
        )
    if made and void and len(void) == len(made):
        sys.exit(EXIT_WAITING)


@click.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--order", "orders", multiple=True, required=True, help="An order to decline (repeatable)."
)
@click.option(
    "--reason",
    default="",
    help="Why (required, except with --withdraw): shown at apply, in the PR comment and status.",
)
@click.option(
    "--withdraw",
    is_flag=True,
    help="Withdraw your earlier decline of these orders (a signed withdrawal).",
)
@signer_options
@store_options
def decline(
    plan_file: Path,
    orders: tuple[str, ...],
    reason: str,
    withdraw: bool,
    key_path: Path,
    reviewer: str | None,
    directory: Path,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Sign a decline of orders into approvals/<plan-digest>.yaml (commit it): they are
    not applied, and what depends on them is blocked, in this plan and every later plan
    of the same order content, until you withdraw it (--withdraw)."""
    from accesshive.approvals.operations import reviewer_of_key, sign_declines
    from accesshive.pipeline import load_config

    config = load_config(directory)
    reviewer = reviewer or reviewer_of_key(config, key_path)
    plan = read_saved(plan_file)
    standing = None
    if withdraw:  # only a decline that holds (a file's, or recorded from GitHub) is withdrawn
        from accesshive.operations import StoreRef, decline_verdicts

        standing = decline_verdicts(directory, plan, StoreRef(environment, store_url))
    path, made = sign_declines(
        config, plan, key_path, reviewer, list(orders), reason, withdraw, standing
    )
    what = "withdrawal(s) of your decline" if withdraw else "decline(s)"
    click.echo(f"signed {len(made)} {what} as {reviewer} into {path}; commit it to the PR")


@click.group()
def approvals() -> None:
    """Check and gather approvals of a plan's gated orders."""


@approvals.command(name="verify")
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@dir_option(PLAN_REPOSITORY_HELP)
@format_option("text", "json")
@store_options
@handles_errors
def approvals_verify(
    plan_file: Path, directory: Path, fmt: str, environment: str | None, store_url: str | None
) -> None:
    """Per gated order: who approved, what is missing, and which approvals do not count."""
    from accesshive.approvals.declines import describe as describe_declines
    from accesshive.operations import StoreRef, approval_verdicts, decline_verdicts
    from accesshive.pipeline import load_config
    from accesshive.plan.model import POLICY_CHANGE
    from accesshive.terminal_text import shown

    saved = read_saved(plan_file)
    _refuse_stale(
        plan_file, saved, load_config(directory).digest, "apply would refuse it, approved or not"
    )
    verdicts = approval_verdicts(directory, saved, StoreRef(environment, store_url, create=False))
    declined = decline_verdicts(directory, saved, StoreRef(environment, store_url, create=False))
    if fmt == "text":
        for changed in _policy_changes(saved):
            click.echo(click.style(f"warning: {changed}", fg="yellow"))
    if fmt == "json":
        out: dict[str, dict[str, object]] = {
            oid: {
                "identity": None if oid == POLICY_CHANGE else saved.order(oid).change.identity,
                "approved": v.approved,
                "approvers": v.approvers,
                "missing": v.missing,
                "rejected": [{"reviewer": r, "reason": w} for r, w in v.rejected],
                "carried": [{"reviewer": r, "signed_for": d} for r, d in v.carried],
            }
            for oid, v in sorted(verdicts.items())
        }
        for oid, held in declined.items():
            out.setdefault(oid, {})["declined"] = [
                {"reviewer": d.reviewer, "reason": d.reason, "at": d.signed_at} for d in held
            ]
        click.echo(json.dumps(out, indent=2, sort_keys=True))
    else:
        for oid, v in sorted(verdicts.items()):
            if oid in declined:
                continue  # listed once, below, as declined: it waits for no approval
            mark = "✓" if v.approved else "✗"
            what = gated_line(saved, oid)
            click.echo(f"{mark} {what}\n    {runnable(shown(v.describe()))}")
        if not verdicts:
            click.echo("The plan has no gated orders.")
        for oid, held in sorted(declined.items()):
            why = runnable(shown(describe_declines(held)))
            click.echo(f"✗ {gated_line(saved, oid)}\n    {why}")
    if declined:
        sys.exit(EXIT_ERROR)
    if any(not v.approved for v in verdicts.values()):
        sys.exit(EXIT_WAITING)


@approvals.command(name="from-github")
@click.argument("plan_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--repo", required=True, help="OWNER/NAME of the repository.")
@click.option(
    "--pr", "number", type=click.IntRange(min=1), required=True, help="The pull request number."
)
@click.option(
    "--api-url",
    default="https://api.github.com",
    envvar="GITHUB_API_URL",
    show_default=True,
    help="GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3).",
)
@dir_option(PLAN_REPOSITORY_HELP)
@store_options
@handles_errors
def approvals_from_github(
    plan_file: Path,
    repo: str,
    number: int,
    api_url: str,
    directory: Path,
    environment: str | None,
    store_url: str | None,
) -> None:
    """Record approving reviews and `/approve ORDER-ID` comments of a pull request
    (token from GITHUB_TOKEN)."""
    from accesshive.approvals.operations import check, not_counting, record_from_github
    from accesshive.operations import StoreRef
    from accesshive.pipeline import load_config
    from accesshive.terminal_text import shown

    config = load_config(directory, environment)
    saved = read_saved(plan_file)
    with StoreRef(environment, store_url).open(directory) as store:
        pr, recorded = record_from_github(
            config, saved, store, repo, number, os.environ.get("GITHUB_TOKEN"), api_url, actor()
        )
        void = not_counting(check(config, saved, store), recorded) if recorded else []
    line = f"{repo}#{number} by {pr.author}: recorded {len(recorded)} new approval(s)"
    if void:  # recorded (a later policy may count them), but verify and apply will not
        line += f", of which {len(void)} will not count (`approvals verify` says the same)"
    click.echo(line)
    for a, why in void:
        click.echo(f"  not counted: {a.reviewer} on {a.order} ({shown(why)})")
    for d in pr.declines:
        what = "withdrew the decline of" if d.withdrawn else f"declined ({d.reason})"
        click.echo(f"  {d.reviewer} {what} {d.order}")
    for note in pr.ignored:
        click.echo(f"  ignored: {note}")
