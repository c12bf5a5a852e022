"""Which sources an identity waits on, and why: the words status and report print after
"N outstanding"."""

from __future__ import annotations

from accesshive.reports.waiting import Waiting, describe, waiting_on


def test_only_pending_steps_name_the_sources() -> None:
    found = waiting_on([("wiki", "pending", None), ("badges", "pending", None)] * 2)
    assert found == (Waiting("badges", 2, "pending"), Waiting("wiki", 2, "pending"))
    assert describe(found) == " on badges, wiki"


def test_a_source_down_is_said_before_anything_else() -> None:
    found = waiting_on(
        [
            ("crm", "blocked", None),
            ("crm", "errored", "crm is unreachable: connection refused; not attempted"),
            ("crm", "errored", "could not read crm to check the plan is current: refused"),
            ("crm", "awaiting_approval", None),
            ("wiki", "pending", None),
        ]
    )
    assert found == (Waiting("crm", 4, "unreachable"), Waiting("wiki", 1, "pending"))
    assert describe(found) == ": crm unreachable, wiki"


def test_each_source_takes_its_most_pressing_reason() -> None:
    found = waiting_on(
        [
            ("a", "errored", "409 Conflict"),
            ("a", "pending", None),
            ("b", "blocked", None),
            ("c", "awaiting_approval", None),
            ("c", "pending", None),
            ("d", "transmitted", "task T-1 for facilities"),
            ("e", "declined", "declined by Ann"),
            # another source's outage is not this one's
            ("f", "errored", "crm is unreachable: refused; not attempted"),
        ]
    )
    assert [(w.source, w.reason) for w in found] == [
        ("a", "failed"),
        ("b", "blocked"),
        ("c", "awaiting approval"),
        ("d", "sent"),
        ("e", "declined"),
        ("f", "failed"),
    ]
    assert found[0].to_json() == {"source": "a", "outstanding": 2, "reason": "failed"}
