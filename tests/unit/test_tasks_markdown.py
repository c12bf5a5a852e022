"""The manual tasks' checklist (``tasks list --format markdown``, ``tasks.md``), parsed as
CommonMark: one task per list item, names from the configuration unable to break it."""

from __future__ import annotations

from accesshive.store import Task
from accesshive.tasks import tasks_markdown
from tests.unit.test_plan_comment import read

HOSTILE = "grant *all*_x_ on `badges` to <b>EVE</b> | [x](http://x)\n# heading"


def task(n: int, description: str) -> Task:
    return Task(f"T-1-{n}", "d", f"o{n}", "bad*ges", "facilities_team", description, {}, "open", "")


def test_tasks_markdown_is_one_item_per_task_and_escaped() -> None:
    comment = read(tasks_markdown([task(1, HOSTILE), task(2, "create account ADA")]))
    assert comment.blocks[:2] == [
        ("heading", "Manual provisioning tasks"),
        ("heading", "bad*ges — for facilities_team"),
    ]
    assert comment.list_items == [
        ("[ ] T-1-1 " + HOSTILE.replace("\n", "␤"), ["T-1-1"]),
        ("[ ] T-1-2 create account ADA", ["T-1-2"]),
    ]
    inline = [c.type for t in comment.tokens for c in t.children or []]
    assert not {"em_open", "strong_open", "html_inline", "link_open"} & set(inline)
