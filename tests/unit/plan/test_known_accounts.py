"""What a leaver's account on a manual source that only done tasks know of is given:
what its lifecycle state asks, minus what tasks done since its creation did already
(a badge disabled after it was made is not disabled twice; re-enabled, it is again)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from accesshive.config import Config
from accesshive.expand.desired import DesiredState
from accesshive.operations._common import load_and_expand
from accesshive.plan.changes import Changes
from accesshive.plan.kinds import OrderKind
from accesshive.plan.known_accounts import TaskRecord, with_known_accounts
from accesshive.plan.orders import Change
from accesshive.state.snapshot import Snapshot, SourceSnapshot
from accesshive.tasks import task_satisfied
from tests.conftest import EXAMPLES

TODAY = dt.date(2026, 11, 29)
Loaded = tuple[Config, DesiredState]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    root = Path(tmp_path_factory.mktemp("q")) / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", root, ignore=shutil.ignore_patterns(".accesshive"))
    people = root / "identities" / "people.yaml"
    people.write_text(
        people.read_text().replace(
            "  grace.hopper:\n",
            "  grace.hopper:\n    lifecycle_state: terminated\n    lifecycle_since: 2026-11-25\n",
        )
    )
    return load_and_expand(root, TODAY)


def _id(action: str, entitlement: str | None = None) -> str:
    return Change(action, "badges", "grace.hopper", entitlement=entitlement).order_id()


def _badge_orders(loaded: Loaded, tasks: dict[str, TaskRecord]) -> list[str]:
    config, desired = loaded
    found = with_known_accounts(config, desired, Snapshot(), Changes((), (), ()), tasks)
    return [
        c.action + (f" {c.entitlement}" if c.entitlement else "")
        for c in found.changes
        if c.source == "badges"
    ]


def _done(at: str) -> TaskRecord:
    return TaskRecord("verified", f"2026-11-{at}T10:00:00+00:00")


def test_granted_then_left_revokes_and_disables(loaded: Loaded) -> None:
    tasks = {
        _id(OrderKind.CREATE_ACCOUNT): _done("10"),
        _id(OrderKind.GRANT, "office-hq"): _done("11"),
    }
    assert _badge_orders(loaded, tasks) == ["revoke office-hq", "disable_account"]


def test_a_revoke_and_disable_done_since_are_not_asked_again(loaded: Loaded) -> None:
    tasks = {
        _id(OrderKind.CREATE_ACCOUNT): _done("10"),
        _id(OrderKind.GRANT, "office-hq"): _done("11"),
        _id(OrderKind.REVOKE, "office-hq"): _done("12"),
        _id(OrderKind.DISABLE_ACCOUNT): _done("12"),
    }
    assert _badge_orders(loaded, tasks) == []


def test_re_enabled_since_it_was_disabled_it_is_disabled_again(
    loaded: Loaded,
) -> None:
    tasks = {
        _id(OrderKind.CREATE_ACCOUNT): _done("10"),
        _id(OrderKind.DISABLE_ACCOUNT): _done("12"),
        _id(OrderKind.ENABLE_ACCOUNT): _done("14"),
    }
    assert _badge_orders(loaded, tasks) == ["disable_account"]


def test_a_disable_done_before_the_badge_was_made_again_does_not_count(
    loaded: Loaded,
) -> None:
    tasks = {
        _id(OrderKind.DISABLE_ACCOUNT): _done("05"),
        _id(OrderKind.CREATE_ACCOUNT): _done("10"),
    }
    assert _badge_orders(loaded, tasks) == ["disable_account"]


def test_no_create_task_done_means_nothing_known(loaded: Loaded) -> None:
    assert _badge_orders(loaded, {_id(OrderKind.GRANT, "office-hq"): _done("11")}) == []


def test_a_delete_of_a_known_account_is_not_proven_by_an_export_lacking_it() -> None:
    """The export never showed the badge: its absence proves no deletion (the owner marks
    the task done); an account the export showed and no longer does is deleted."""
    order = {"action": "delete_account", "identity": "grace.hopper", "name": "Grace Hopper"}
    known = {**order, "details": {"known_from": "T-0123456789ab"}}
    assert task_satisfied(order, SourceSnapshot())
    assert not task_satisfied(known, SourceSnapshot())
