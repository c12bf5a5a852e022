"""Notification events: one key per finding, whatever the order it was found in; a new
finding is a new key; long lists are cut for a chat message but kept whole in details."""

from __future__ import annotations

from accesshive.notify import events as ev


def test_the_same_drift_found_again_is_the_same_event() -> None:
    first = ev.drift_found("prod", {"ada": ["email differs", "title differs"], "bob": ["x"]})
    again = ev.drift_found("prod", {"bob": ["x"], "ada": ["title differs", "email differs"]})
    assert first.key == again.key and first.payload() == again.payload()


def test_new_drift_another_environment_or_another_run_is_another_event() -> None:
    base = ev.drift_found("prod", {"ada": ["email differs"]})
    assert ev.drift_found("prod", {"ada": ["email differs"], "bob": ["x"]}).key != base.key
    assert ev.drift_found("sandbox", {"ada": ["email differs"]}).key != base.key
    down = ev.source_down("prod", "ldap", "Connection refused", "apply run 4")
    assert ev.source_down("prod", "ldap", "Connection refused", "apply run 5").key != down.key
    assert down.key.startswith("source_down:")


def test_a_long_list_is_cut_in_the_message_and_whole_in_the_details() -> None:
    orphans = [("ldap", f"uid={n:03d}", f"user{n:03d}") for n in range(25)]
    event = ev.orphans_found("prod", orphans)
    assert len(event.lines) == ev.MAX_LINES + 1
    assert event.lines[-1] == "… and 5 more"
    assert len(event.payload()["details"]["orphans"]) == 25
    assert event.title == "25 orphan account(s): no identity owns them"
