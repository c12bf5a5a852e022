"""The pull-request comment (``show --format markdown``), read the way GitHub reads it:
parsed as CommonMark with GitHub tables (markdown-it-py), and checked for structure:
the summary line first, each order in its own list item or table row, tables with
exactly their rows, one folded section per identity, nothing cut without saying so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from accesshive.approvals.declines import Decline
from accesshive.approvals.model import OrderApproval, content_digest
from accesshive.operations import plan_repository
from accesshive.plan.changes import Orphan
from accesshive.plan.model import Plan
from accesshive.plan.orders import Change, Gate, Order
from accesshive.render import render_markdown
from accesshive.render.markdown import GITHUB_LIMIT
from tests.conftest import EXAMPLES, FIXTURES

PARSER = MarkdownIt("commonmark").enable("table")
TODAY = dt.date(2026, 11, 29)
CASES = {
    "quickstart-empty": ("quickstart", None),
    "quickstart-drifted": ("quickstart", "quickstart-drifted.yaml"),
    "quickstart-converged": ("quickstart", "quickstart-converged.yaml"),
    "acme-empty": ("acme", None),
}


@cache
def example_plan(case: str) -> Plan:
    example, snapshot = CASES[case]
    path = FIXTURES / "snapshots" / snapshot if snapshot else None
    return plan_repository(EXAMPLES / example, TODAY, path)


# --------------------------------------------------------------------------- reading


def text_of(token: Token) -> str:
    """An inline token's text as a reader sees it (escapes undone, code kept)."""
    return "".join(
        child.content if child.type in ("text", "code_inline") else ""
        for child in token.children or []
    )


def codes_of(token: Token) -> list[str]:
    return [c.content for c in token.children or [] if c.type == "code_inline"]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    row_codes: list[list[str]]
    heading: str | None
    """The text of the last heading (or ``<details>`` line) before the table."""


@dataclass
class Comment:
    tokens: list[Token]
    blocks: list[tuple[str, str]] = field(default_factory=list)
    """Top-level blocks: (kind, text) with kind heading, paragraph, table, list,
    blockquote, html."""
    tables: list[Table] = field(default_factory=list)
    list_items: list[tuple[str, list[str]]] = field(default_factory=list)
    """Each list item: its text and the code spans in it."""


def read(markdown: str) -> Comment:
    tokens = PARSER.parse(markdown)
    comment = Comment(tokens)
    heading: str | None = None
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.type == "heading_open":
            heading = text_of(tokens[i + 1])
            comment.blocks.append(("heading", heading))
            i += 3
        elif t.type == "paragraph_open":
            comment.blocks.append(("paragraph", text_of(tokens[i + 1])))
            i += 3
        elif t.type == "html_block":
            comment.blocks.append(("html", t.content))
            if t.content.startswith("<details>"):
                heading = t.content
            i += 1
        elif t.type in ("table_open", "bullet_list_open", "ordered_list_open", "blockquote_open"):
            close = t.type.replace("_open", "_close")
            depth, j = 0, i
            while True:
                if tokens[j].type == t.type:
                    depth += 1
                elif tokens[j].type == close:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            inner = tokens[i : j + 1]
            kind = t.type.replace("_open", "").replace("bullet_", "").replace("ordered_", "")
            comment.blocks.append((kind, " ".join(text_of(x) for x in inner if x.type == "inline")))
            if t.type == "table_open":
                comment.tables.append(_table(inner, heading))
            if t.type.endswith("list_open"):
                comment.list_items.extend(_items(inner))
            i = j + 1
        else:  # pragma: no cover - the comment has no other block
            raise AssertionError(f"unexpected block {t.type}")
    return comment


def _table(tokens: list[Token], heading: str | None) -> Table:
    header: list[str] = []
    rows: list[list[str]] = []
    codes: list[list[str]] = []
    in_head = False
    for k, t in enumerate(tokens):
        if t.type == "thead_open":
            in_head = True
        elif t.type == "thead_close":
            in_head = False
        elif t.type == "tr_open" and not in_head:
            rows.append([])
            codes.append([])
        elif t.type == "inline":
            if in_head:
                header.append(text_of(t))
            else:
                rows[-1].append(text_of(t))
                codes[-1].extend(codes_of(t))
        del k
    return Table(header, rows, codes, heading)


def _items(tokens: list[Token]) -> Iterator[tuple[str, list[str]]]:
    """Each list item (nested ones first): its text, nested items' included, and code."""
    stack: list[tuple[list[str], list[str]]] = []
    for t in tokens:
        if t.type == "list_item_open":
            stack.append(([], []))
        elif t.type == "inline":
            for texts, codes in stack:
                texts.append(text_of(t))
                codes.extend(codes_of(t))
        elif t.type == "list_item_close":
            texts, codes = stack.pop()
            yield " ".join(texts), codes


def assert_details_spaced(markdown: str) -> None:
    """GitHub renders Markdown inside ``<details>`` only with a blank line after the
    ``<summary>`` line and before ``</details>`` (CommonMark parsers are more lenient)."""
    lines = markdown.split("\n")
    opened = [n for n, line in enumerate(lines) if line.startswith("<details>")]
    closed = [n for n, line in enumerate(lines) if line == "</details>"]
    assert len(opened) == len(closed)
    for n in opened:
        assert lines[n].endswith("</summary>") and lines[n + 1] == "", lines[n : n + 2]
    for n in closed:
        assert lines[n - 1] == "" and lines[n + 1 : n + 2] in ([""], []), lines[n - 1 : n + 2]


def table_after(comment: Comment, heading_prefix: str) -> Table:
    found = [t for t in comment.tables if (t.heading or "").startswith(heading_prefix)]
    assert len(found) == 1, [t.heading for t in comment.tables]
    return found[0]


# --------------------------------------------------------------------------- the examples


@pytest.mark.parametrize("case", sorted(CASES))
def test_example_comment_is_well_formed(case: str) -> None:
    plan = example_plan(case)
    markdown = render_markdown(plan)
    comment = read(markdown)
    assert_details_spaced(markdown)
    ids = [o.id for o in plan.orders]

    # the summary line comes first, and counts every order once
    kind, first = comment.blocks[0]
    assert kind == "heading"
    assert comment.tokens[0].tag == "h3"
    numbers = re.fullmatch(
        r"Plan: (\d+) to add, (\d+) to change, (\d+) to remove, (\d+) manual tasks?, "
        r"(\d+) waiting for review",
        first,
    )
    assert numbers, first
    add, change, remove, manual, waiting = (int(n) for n in numbers.groups())
    assert add + change + remove + manual == len(plan.orders)
    assert waiting == sum(1 for o in plan.orders if o.gate)

    # each order in exactly one list item, each list item one order, and nothing else
    item_ids = [[c for c in codes if c in ids] for _, codes in comment.list_items]
    assert all(len(found) == 1 for found in item_ids), item_ids
    assert sorted(found[0] for found in item_ids) == sorted(ids)

    # one folded section per identity (and one for orphans), each opened and closed
    opened = [t for k, t in comment.blocks if k == "html" and t.startswith("<details>")]
    closed = [t for k, t in comment.blocks if k == "html" and t.strip() == "</details>"]
    identities = {o.change.identity for o in plan.orders}
    assert len(opened) == len(closed) == len(identities) + (1 if plan.orphans else 0)
    for identity in identities:
        assert sum(f"<b>{identity}</b>" in t for t in opened) == 1
    # the blocks of an identity's section: <details><summary>, its list, </details>
    kinds = [k for k, _ in comment.blocks]
    for n, (k, t) in enumerate(comment.blocks):
        if k == "html" and t.startswith("<details><summary><b>"):
            assert kinds[n + 1 : n + 3] == ["list", "html"], kinds[n : n + 3]

    # the approvals table has exactly one row per gated order, and nothing else
    gated = [o for o in plan.orders if o.gate]
    if gated:
        table = table_after(comment, "Waiting for review")
        assert table.header == [
            "order",
            "identity",
            "what",
            "reviewer groups",
            "quorum",
            "missing",
        ]
        assert [codes[0] for codes in table.row_codes] == [o.id for o in gated]
        assert all(len(row) == 6 for row in table.rows)
        for row, o in zip(table.rows, gated, strict=True):
            assert o.gate is not None
            # the identity id, not only a display name a newcomer could borrow
            assert row[1] == (o.change.identity or "(accounts without identity)")
            assert row[3] == ", ".join(o.gate.reviewer_groups)
            # each gating rule's quorum, when several rules gate the order
            assert row[4] == " + ".join(str(n.quorum) for n in o.gate.needs())
        approve = [t for k, t in comment.blocks if k == "paragraph" and t.startswith("Approve")]
        assert len(approve) == 1
    else:
        assert not [t for t in comment.tables if (t.heading or "").startswith("Waiting")]

    # every table row has as many cells as its header
    for table in comment.tables:
        assert all(len(row) == len(table.header) for row in table.rows)

    # not cut, and the last block is the digest line
    assert "cut" not in markdown
    assert comment.blocks[-1] == (
        "paragraph",
        f"plan digest {plan.digest[:16]} · config {plan.config_digest[:12]} · accesshive "
        f"{plan.tool_version}",
    )
    assert len(markdown) < GITHUB_LIMIT


def test_quickstart_drifted_comment_reads_as_written() -> None:
    comment = read(render_markdown(example_plan("quickstart-drifted")))
    assert comment.blocks[0] == (
        "heading",
        "Plan: 1 to add, 2 to change, 5 to remove, 0 manual tasks, 1 waiting for review",
    )
    sources = table_after(comment, "Orders per source")
    assert sources.rows == [["wiki", "1", "2", "5", "0", "1", "8"]]
    orphans = table_after(comment, "<details><summary>Orphaned accounts (1)")
    assert orphans.rows == [["wiki", "mallory", "enabled"]]
    items = {codes[1]: text for text, codes in comment.list_items}
    assert items["f5ea0b25dd47"] == (
        "+ grant wiki-admins on wiki to grace.hopper (access profile wiki-admin) [sensitive] "
        "· f5ea0b25dd47 · ⚠️ waiting for review: 1 approval from security"
    )
    # grace.hopper's section (the one with an order waiting for review) comes first
    sections = [
        t for k, t in comment.blocks if k == "html" and t.startswith("<details><summary><b>")
    ]
    assert sections[0].startswith("<details><summary><b>grace.hopper</b> (human, active)")


def test_no_changes_says_so() -> None:
    comment = read(render_markdown(example_plan("quickstart-converged")))
    assert comment.blocks[0][1].startswith("Plan: 0 to add, 0 to change, 0 to remove")
    assert comment.blocks[1] == (
        "paragraph",
        "No changes. The targets match the configuration of quickstart.",
    )
    assert not comment.list_items


# --------------------------------------------------------------------------- escaping

HOSTILE = "eve|*bold*_x_`code`<script>alert(1)</script>&amp; [l](http://x) $x$\nnext"
FLAT = HOSTILE.replace("\n", "␤")


def hostile_plan() -> Plan:
    change = Change(
        "grant",
        source="wi|ki",
        identity=HOSTILE,
        name=HOSTILE,
        entitlement="admins|<b>",
        sensitive=True,
    )
    update = Change(
        "update_account",
        source="wi|ki",
        identity=HOSTILE,
        name=HOSTILE,
        attributes={"title": {"from": "a|b", "to": "</details>\n\n# heading"}},
    )
    orders = (
        Order(change.order_id(), "grant", change, gate=Gate(("r",), ("sec|urity",), 1)),
        Order(update.order_id(), "update_account", update),
    )
    return Plan(
        project="**proj**",
        tool_version="0.1.0",
        config_digest="c" * 64,
        fingerprints={},
        orders=orders,
        orphans=(Orphan("wi|ki", "x", HOSTILE, True),),
        adoptions=(),
        warnings=("source <wiki> | *unreachable*\n# not a heading",),
        identities={HOSTILE: {"type": "human", "lifecycle_state": "active"}},
    )


def test_names_from_the_configuration_cannot_break_or_inject_markdown() -> None:
    plan = hostile_plan()
    markdown = render_markdown(plan)
    comment = read(markdown)
    assert_details_spaced(markdown)
    tokens = [t for t in comment.tokens] + [c for t in comment.tokens for c in t.children or []]
    # no emphasis, link, image or HTML but the comment's own
    kinds = {t.type for t in tokens}
    assert not kinds & {"em_open", "link_open", "image"}, kinds
    assert [t.content for t in tokens if t.type == "html_inline"] == ["<sub>", "</sub>"]
    assert len([t for t in tokens if t.type == "strong_open"]) == 1  # the project's name
    htmls = [t.content for t in tokens if t.type == "html_block"]
    assert all(h.startswith(("<details><summary>", "</details>")) for h in htmls), htmls
    assert "<script>" not in "".join(htmls)
    assert f"<b>{FLAT.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}" in "".join(
        htmls
    ).replace("&quot;", '"').replace("&#x27;", "'")
    # the values read back as they were (newlines shown as ␤), one heading only
    assert [k for k, _ in comment.blocks].count("heading") == 4  # summary, review, sources, ids
    assert comment.blocks[1] == (
        "paragraph",
        "accesshive plan of **proj**: 2 orders for 1 identity on 1 source, 1 orphaned account",
    )
    review = table_after(comment, "Waiting for review")
    assert review.rows[0][2] == f"grant admins|<b> on wi|ki to {FLAT} [sensitive]"
    assert review.rows[0][3] == "sec|urity"
    orphans = table_after(comment, "<details><summary>Orphaned accounts")
    assert orphans.rows == [["wi|ki", FLAT, "enabled"]]
    texts = [text for text, _ in comment.list_items]
    assert texts[1].startswith(f'~ update {FLAT} on wi|ki: title: "a|b" → "</details>␤␤# heading"')
    quote = [t for k, t in comment.blocks if k == "blockquote"]
    assert quote == ["⚠️ source <wiki> | *unreachable*␤# not a heading"]


# --------------------------------------------------------------------------- approvals


def test_recorded_approvals_show_who_approved_and_what_is_missing() -> None:
    plan = example_plan("acme-empty")
    gated = [o for o in plan.orders if o.gate]
    done, half = gated[0], next(o for o in gated if o.gate and o.gate.quorum == 2)
    assert done.gate is not None and half.gate is not None
    verdicts = {
        o.id: OrderApproval(o.id, o.gate.quorum, o.gate.reviewer_groups, needs=o.gate.requires)
        for o in gated
        if o.gate
    }
    verdicts[done.id].approvers.append("alice")
    verdicts[half.id].approvers.append("bob")
    verdicts[half.id].member_of["bob"] = frozenset({"it-admins"})
    verdicts[half.id].rejected.append(("mallory|x", "not in it-admins, security"))
    comment = read(render_markdown(plan, approvals=verdicts))
    assert comment.blocks[0][1].endswith(f"{len(gated) - 1} waiting for review, 1 approved")
    table = table_after(comment, "Waiting for review")
    assert table.header[-1] == "approved by"
    by_id = {codes[0]: row for codes, row in zip(table.row_codes, table.rows, strict=True)}
    assert len(by_id) == len(gated)
    assert by_id[done.id][5:] == ["nothing: approved", "alice"]
    # two rules gate it (2 of it-admins, security; 1 of security): bob counts for the
    # first only, so each rule says what it still lacks
    assert half.gate.wanted() == "2 of it-admins, security and 1 of security"
    assert by_id[half.id][5:] == [
        "1 from it-admins, security and 1 from security",
        "bob; not counted: mallory|x (not in it-admins, security)",
    ]
    # what still waits comes first; the approved order last
    assert table.row_codes[-1][0] == done.id
    done_item = [text for text, codes in comment.list_items if done.id in codes]
    assert done_item[0].endswith("✅ approved (1 of security)")


def test_declined_orders_show_who_declined_them_and_why() -> None:
    plan = example_plan("acme-empty")
    gated = next(o for o in plan.orders if o.gate)
    plain = next(o for o in plan.orders if not o.gate)
    hostile = "no | not\nnow <script>alert(1)</script> *ever*"
    declines = {
        o.id: [Decline(plan.digest, o.id, content_digest(o), who, why, "2026-11-29T10:00:00")]
        for o, who, why in [(gated, "alice", hostile), (plain, "bob", "not before March")]
    }
    waiting = sum(1 for o in plan.orders if o.gate)
    markdown = render_markdown(plan, declines=declines)
    comment = read(markdown)
    # a declined gated order waits for nothing: it is counted as declined instead
    assert comment.blocks[0][1].endswith(f"{waiting - 1} waiting for review, 2 declined")
    table = table_after(comment, "Declined (2 orders)")
    assert table.header == ["order", "what", "declined by", "reason"]
    by_id = {codes[0]: row for codes, row in zip(table.row_codes, table.rows, strict=True)}
    assert by_id[plain.id][2:] == ["bob", "not before March"]
    assert by_id[gated.id][2:] == ["alice", "no | not␤now <script>alert(1)</script> *ever*"]
    assert "<script>" not in markdown
    # ... and listed once, as declined: not also among the orders waiting for review
    waiting_table = table_after(
        comment, f"Waiting for review ({waiting - 1:,} of {waiting:,} gated orders; 1 declined)"
    )
    assert gated.id not in {codes[0] for codes in waiting_table.row_codes}
    item = next(text for text, codes in comment.list_items if plain.id in codes)
    assert item.endswith("⛔ declined by bob: not before March")
    assert_details_spaced(markdown)


def test_when_no_gated_order_waits_the_review_table_says_so_not_waiting() -> None:
    """Every gated order approved: the table lists who approved each, under a title that
    does not say they wait."""
    plan = example_plan("quickstart-empty")
    gated = [o for o in plan.orders if o.gate]
    approvals = {}
    for o in gated:
        verdict = OrderApproval(o.id, 1, ("security",))
        verdict.approvers.append("alice")
        approvals[o.id] = verdict
    comment = read(render_markdown(plan, approvals))
    table = table_after(comment, f"Reviewed: none of {len(gated)} gated orders waits")
    assert sorted(codes[0] for codes in table.row_codes) == sorted(o.id for o in gated)
    headings = [text for kind, text in comment.blocks if kind == "heading"]
    assert not any("Waiting for review" in text for text in headings)


# --------------------------------------------------------------------------- a large plan


def large_plan(identities: int = 10_000) -> Plan:
    orders = []
    people = {}
    for n in range(identities):
        who = f"person{n:05d}.surname"
        people[who] = {"type": "human", "lifecycle_state": "active"}
        create = Change("create_account", "directory", who, name=who)
        grant = Change("grant", "directory", who, name=who, entitlement="staff")
        orders.append(Order(create.order_id(), "create_account", create))
        gate = Gate(("sensitive",), ("security",), 1) if n % 50 == 0 else None
        orders.append(Order(grant.order_id(), "grant", grant, gate=gate))
        if n % 3 == 0:
            badge = Change("create_account", "badges", who, name=who.upper())
            orders.append(Order(badge.order_id(), "manual_task", badge, assignee="facilities"))
    return Plan(
        project="bench",
        tool_version="0.1.0",
        config_digest="c" * 64,
        fingerprints={},
        orders=tuple(orders),
        orphans=tuple(Orphan("directory", f"o{n}", f"orphan {n}", True) for n in range(80)),
        adoptions=(),
        identities=people,
    )


def test_a_plan_too_long_for_github_is_cut_between_blocks_and_says_so() -> None:
    plan = large_plan()
    markdown = render_markdown(plan, plan_file="plan-4242.json")
    assert len(markdown) < GITHUB_LIMIT
    assert len(markdown.encode("utf-8")) < GITHUB_LIMIT
    comment = read(markdown)
    assert comment.blocks[0] == (
        "heading",
        "Plan: 20,000 to add, 0 to change, 0 to remove, 3,334 manual tasks, 200 waiting for review",
    )
    # the notice comes right after what was planned, says why and where the rest is
    kind, notice = comment.blocks[2]
    assert kind == "blockquote"
    assert "This comment is cut." in notice
    assert "GitHub refuses comments over 65,536" in notice
    assert "plan-4242.json" in notice and "accesshive show plan-4242.json" in notice

    # the review table: whole rows only, and a sentence for the ones left out
    review = table_after(comment, "Waiting for review")
    assert len(review.rows) == 100
    assert all(len(row) == 6 for row in review.rows)
    assert (
        "paragraph",
        "100 more gated orders not listed here: accesshive show plan-4242.json lists them.",
    ) in comment.blocks

    # per source counts, complete
    sources = table_after(comment, "Orders per source")
    assert sources.rows == [
        ["badges", "0", "0", "0", "3,334", "0", "3,334"],
        ["directory", "20,000", "0", "0", "0", "200", "20,000"],
    ]

    # per identity counts: the identities with orders waiting for review first,
    # then as many as fit; the rest counted in a sentence after the table
    counts = table_after(comment, "Orders per identity")
    assert all(len(row) == 6 for row in counts.rows)
    shown = len(counts.rows)
    assert 200 < shown < 10_000
    assert counts.rows[0] == ["person00000.surname (human, active)", "2", "0", "0", "1", "1"]
    assert all(row[5] == "1" for row in counts.rows[:200])
    assert f"({shown:,} of 10,000 identities shown)" in notice
    rest = [t for k, t in comment.blocks if k == "paragraph" and "more identities" in t]
    assert len(rest) == 1
    left = 10_000 - shown
    assert rest[0].startswith(f"{left:,} more identities with ")
    # no list of orders at all: only counts
    assert not comment.list_items
    # the last block is still the digest line
    assert comment.blocks[-1][1].startswith("plan digest ")


def test_the_limit_is_what_decides_a_cut() -> None:
    plan = example_plan("quickstart-drifted")
    whole = render_markdown(plan)
    assert "cut" not in whole
    cut = render_markdown(plan, limit=len(whole.encode("utf-8")) - 1)
    comment = read(cut)
    assert comment.blocks[2][0] == "blockquote"
    assert "This comment is cut." in comment.blocks[2][1]
    assert len(cut.encode("utf-8")) < len(whole.encode("utf-8"))


def test_a_cut_comment_lists_every_change_to_what_exists_in_full() -> None:
    """400 joiners pad the change, and one email changes among them (the trial's attack
    on a cut comment): that change is listed as it is, before the counts, and its
    identity's counts come before the joiners'."""
    plan = large_plan(4_000)
    email = {"email": {"from": "ada@acme.example", "to": "attacker@evil.example"}}
    update = Change("update_account", "directory", "zz.ada", name="zz.ada", attributes=email)
    revoke = Change("revoke", "directory", "zz.ada", name="zz.ada", entitlement="admins")
    identities = {
        **(plan.identities or {}),
        "zz.ada": {"type": "human", "lifecycle_state": "active"},
    }
    plan = replace(
        plan,
        orders=(
            *plan.orders,
            Order(update.order_id(), "update_account", update),
            Order(revoke.order_id(), "revoke", revoke),
        ),
        identities=identities,
    )
    comment = read(render_markdown(plan, plan_file="plan.json"))
    assert "This comment is cut." in comment.blocks[2][1]
    changed = table_after(comment, "Changes to what exists (2)")
    assert changed.rows == [
        [
            update.order_id(),
            "zz.ada",
            'update zz.ada on directory: email: "ada@acme.example" → "attacker@evil.example"',
        ],
        [revoke.order_id(), "zz.ada", "revoke admins on directory from zz.ada"],
    ]
    counts = table_after(comment, "Orders per identity")
    waiting = sum(1 for row in counts.rows if row[5] != "0")
    assert counts.rows[waiting][0] == "zz.ada (human, active)"  # right after those waiting
