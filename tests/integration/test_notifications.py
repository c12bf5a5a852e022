"""Notifications on the quickstart, delivered to a real local webhook receiver: a
Slack-compatible target and a signed generic one. Each event arrives once per target,
however often it is found; one that could not be delivered arrives with the next run;
a missing secret or a receiver that is down never changes the outcome of the command."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from accesshive.cli import main
from accesshive.operations import StoreRef, report_repository
from accesshive.store import open_store
from tests.conftest import EXAMPLES
from tests.support.webhook_receiver import Receiver, webhook_receiver

TODAY = "2026-11-29"
SLACK_PATH = "/services/T0001/B0001/hook-secret-f00d"
SECRET = "soc-signing-secret-4c1d"
POLICY = """
notifications:
  review_waiting_hours: 24
  targets:
    team-chat:
      kind: slack
      url: ${{env:TEST_SLACK_URL}}
    soc:
      kind: webhook
      url: {base}/soc
      secret: ${{env:TEST_SOC_SECRET}}
  rules:
    - events: [apply_failed, source_down, drift_found, orphans_found, review_waiting]
      to: [team-chat]
    - events: [apply_failed, source_down, drift_found, orphans_found, review_waiting, idp_leaver]
      to: [soc]
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def repo(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    (dest / "policies").mkdir()
    (dest / "policies" / "notifications.yaml").write_text(POLICY.format(base=receiver.url))
    monkeypatch.setenv("TEST_SLACK_URL", receiver.url + SLACK_PATH)
    monkeypatch.setenv("TEST_SOC_SECRET", SECRET)
    return dest


def run(*args: str) -> Result:
    dated = ["--today", TODAY] if args[0] in ("apply", "report") else []
    return CliRunner().invoke(main, [*args, *dated])


def events(receiver: Receiver) -> dict[str, list[str]]:
    """Per target path: the events received, in order."""
    soc = [r.json()["event"] for r in receiver.at("/soc")]
    chat = [r.json()["text"].split("] ", 1)[1] for r in receiver.at(SLACK_PATH)]
    return {"soc": soc, "chat": chat}


def test_drift_and_orphans_are_told_once_and_apply_failure_with_its_source(
    repo: Path, receiver: Receiver
) -> None:
    assert run("sync", str(repo)).exit_code == 0
    applied = run("apply", str(repo), "--auto-approve")
    assert applied.exit_code == 6, applied.output  # gated orders wait: nothing failed
    assert receiver.received == []

    wiki = sqlite3.connect(repo / ".accesshive" / "wiki-app.db")
    wiki.execute("UPDATE users SET full_name = 'Ada King' WHERE login = 'ada.lovelace'")
    wiki.execute("INSERT INTO users (login, email, active) VALUES ('mallory', 'm@x.example', 1)")
    wiki.commit()
    for _ in range(2):  # two nightly reports find the same drift and the same orphan
        reported = run("report", str(repo), "--format", "json")
        assert reported.exit_code == 0, reported.output
    assert [e["event"] for e in (r.json() for r in receiver.at("/soc"))] == [
        "drift_found",
        "orphans_found",
    ]
    # drift as the report counts it (`report --fail-on drift`): ada's edited name, and
    # grace's orders still waiting for review
    drift = receiver.at("/soc")[0].json()["details"]["identities"]
    assert sorted(drift) == ["ada.lovelace", "grace.hopper"]
    assert any("Ada King" in d for d in drift["ada.lovelace"])
    orphans = receiver.at("/soc")[1].json()["lines"]
    assert "wiki: mallory" in orphans and "badges: Mallory Visitor" in orphans
    chat = [r.json()["text"] for r in receiver.at(SLACK_PATH)]
    assert len(chat) == 2 and chat[0].startswith("*accesshive* [default] drift: 2 identities")
    assert "\n• ada.lovelace: " in chat[0] and "2 orphan account(s)" in chat[1]

    # the wiki now refuses every group change: the next apply fails on that source
    receiver.received.clear()
    wiki.execute(
        "CREATE TRIGGER frozen BEFORE DELETE ON user_groups "
        "BEGIN SELECT RAISE(ABORT, 'the wiki is read-only for maintenance'); END"
    )
    wiki.execute("UPDATE users SET full_name = 'Ada Lovelace' WHERE login = 'ada.lovelace'")
    wiki.execute(
        "INSERT INTO user_groups (user_id, group_name) SELECT id, 'wiki-admins' "
        "FROM users WHERE login = 'ada.lovelace'"
    )
    wiki.commit()
    assert run("sync", str(repo)).exit_code == 0
    failed = run("apply", str(repo), "--auto-approve", "--format", "json")
    assert failed.exit_code == 1, failed.output
    result = json.loads(failed.stdout)
    assert [(n["target"], n["event"], n["error"]) for n in result["notifications"]] == [
        ("soc", "apply_failed", None),
        ("team-chat", "apply_failed", None),
    ]
    told = receiver.at("/soc")[0].json()
    assert told["details"]["run"] == result["run"]
    assert "read-only for maintenance" in json.dumps(told["details"]["failed"])
    assert receiver.at(SLACK_PATH)[0].json()["text"].count("read-only for maintenance") == 1


def test_a_signed_webhook_can_be_checked_by_its_receiver(repo: Path, receiver: Receiver) -> None:
    _drift(repo)
    (delivery,) = [r for r in receiver.at("/soc") if r.json()["event"] == "drift_found"]
    headers = delivery.headers
    stamp = headers["x-accesshive-timestamp"]
    expected = hmac.new(
        SECRET.encode(), stamp.encode() + b"." + delivery.body, hashlib.sha256
    ).hexdigest()
    assert headers["x-accesshive-signature"] == f"sha256={expected}"
    assert headers["idempotency-key"] == delivery.json()["id"]
    assert headers["x-accesshive-event"] == "drift_found"
    tampered = delivery.body.replace(b"ada.lovelace", b"eve.attacker")
    forged = hmac.new(SECRET.encode(), stamp.encode() + b"." + tampered, hashlib.sha256)
    assert headers["x-accesshive-signature"] != f"sha256={forged.hexdigest()}"


def test_an_undelivered_event_arrives_with_the_next_run_and_never_fails_the_command(
    repo: Path, receiver: Receiver
) -> None:
    receiver.down = True
    reported = _drift(repo)
    assert reported.exit_code == 0  # the report itself is unaffected
    assert receiver.received == [] and receiver.refused >= 2  # retried, then kept
    assert "the drift_found notification was not delivered" in reported.stderr
    assert "the next run sends it again" in reported.stderr
    receiver.down = False
    again = run("report", str(repo), "--no-sync")
    assert again.exit_code == 0, again.output
    assert events(receiver)["soc"] == ["drift_found", "orphans_found"]
    assert len(events(receiver)["chat"]) == 2
    with open_store(repo) as store:
        log = [(e.event, json.loads(e.details).get("target")) for e in store.audit_entries()]
        text = json.dumps([e.to_json() for e in store.audit_entries()])
    assert log.count(("notification_failed", "soc")) == 2
    assert log.count(("notification_sent", "soc")) == 2
    assert SLACK_PATH not in text and SECRET not in text  # the URL is a secret too
    assert SLACK_PATH not in reported.stderr + again.stderr


def test_a_missing_secret_reference_is_reported_and_kept_for_the_next_run(
    repo: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_SLACK_URL")
    reported = _drift(repo)
    assert reported.exit_code == 0
    assert "environment variable TEST_SLACK_URL is not set" in reported.stderr
    assert events(receiver)["soc"] == ["drift_found", "orphans_found"]  # the other target
    monkeypatch.setenv("TEST_SLACK_URL", receiver.url + SLACK_PATH)
    assert run("report", str(repo), "--no-sync").exit_code == 0
    assert len(receiver.at(SLACK_PATH)) == 2 and len(receiver.at("/soc")) == 2


def test_orders_waiting_for_review_too_long_are_told_with_who_can_approve(
    repo: Path, receiver: Receiver
) -> None:
    assert run("sync", str(repo)).exit_code == 0
    assert run("apply", str(repo), "--auto-approve").exit_code == 6
    today = dt.date.fromisoformat(TODAY)
    with open_store(repo) as store:
        made = dt.datetime.fromisoformat(store.plans_for_config(_digest(store))[0][1])
    soon = made + dt.timedelta(hours=2)
    report_repository(repo, StoreRef(), today, sync_first=False, now=soon)
    assert "review_waiting" not in events(receiver)["soc"]  # not yet 24 hours
    late = made + dt.timedelta(hours=25)
    report_repository(repo, StoreRef(), today, sync_first=False, now=late)
    report_repository(repo, StoreRef(), today, sync_first=False, now=late)
    (told,) = [r.json() for r in receiver.at("/soc") if r.json()["event"] == "review_waiting"]
    orders = told["details"]["orders"]
    assert len(orders) == 2 and all(groups == ["security"] for groups in orders.values())
    chat = [r.json()["text"] for r in receiver.at(SLACK_PATH)]
    assert sum("2 order(s) of plan" in text for text in chat) == 1


def test_a_rule_naming_an_undeclared_target_is_refused_with_its_file(repo: Path) -> None:
    path = repo / "policies" / "notifications.yaml"
    path.write_text(path.read_text().replace("to: [soc]", "to: [pager]"))
    checked = run("validate", str(repo))
    assert checked.exit_code != 0
    assert "policies/notifications.yaml" in checked.output
    assert "pager, which is not among the targets" in checked.output


def test_a_slack_url_written_in_clear_is_refused(repo: Path) -> None:
    path = repo / "policies" / "notifications.yaml"
    path.write_text(
        path.read_text().replace("${env:TEST_SLACK_URL}", "https://hooks.slack.com/services/X")
    )
    checked = run("validate", str(repo))
    assert checked.exit_code != 0 and "a Slack webhook URL is a secret" in checked.output


def _drift(repo: Path) -> Result:
    assert run("sync", str(repo)).exit_code == 0
    assert run("apply", str(repo), "--auto-approve").exit_code == 6
    wiki = sqlite3.connect(repo / ".accesshive" / "wiki-app.db")
    wiki.execute("UPDATE users SET full_name = 'Ada King' WHERE login = 'ada.lovelace'")
    wiki.commit()
    wiki.close()
    return run("report", str(repo))


def _digest(store: object) -> str:
    rows = store._execute("SELECT config_digest FROM plans")  # type: ignore[attr-defined]
    return str(rows[0][0])


def test_a_leaver_pushed_by_an_identity_provider_is_told_once(
    repo: Path, receiver: Receiver
) -> None:
    """What ``scim serve`` calls when a provider deactivates a user (its own test drives
    the server; here, what is told): the leaver, once, even if the push is repeated."""
    from accesshive.operations import run_leaver

    source = (
        "\nidentity_sources:\n  okta:\n    kind: scim\n"
        '    id: "{{ name.givenName|slug }}.{{ name.familyName|slug }}"\n'
        "    attributes:\n"
        '      given_name: "{{ name.givenName }}"\n'
        '      family_name: "{{ name.familyName }}"\n'
        '      email: "{{ userName }}"\n'
        "    leaver_state: terminated\n"
    )
    (repo / "accesshive.yaml").write_text((repo / "accesshive.yaml").read_text() + source)
    user = {
        "id": "8c1f",
        "userName": "kay.jones@quickstart.example",
        "name": {"givenName": "Kay", "familyName": "Jones"},
        "active": False,
        "meta": {"lastModified": "2026-11-29T10:00:00+00:00"},
    }
    run_leaver(repo, "okta", user, StoreRef())
    run_leaver(repo, "okta", user, StoreRef())  # the provider retried its PATCH
    (told,) = receiver.at("/soc")
    assert told.json()["event"] == "idp_leaver"
    assert told.json()["details"] == {
        "source": "okta",
        "record": "8c1f",
        "name": "kay.jones",
        "at": "2026-11-29T10:00:00+00:00",
    }
    assert receiver.at(SLACK_PATH) == []  # team-chat's rule does not name idp_leaver
