"""The plan as Markdown for a pull-request comment: valid CommonMark with GitHub tables.

Layout, top to bottom:

- the summary line (``Plan: N to add, N to change, N to remove, N manual tasks, N waiting
  for review``), a heading, so it is the first thing read;
- what was planned (project, identities, sources, digest);
- when the plan is too long for one comment, a notice that it was cut, why, and where
  the full plan is;
- the orders reviewers declined, in one table: who declined each and why (when
  declines are given); they are not applied, and what depends on them is blocked;
- the orders waiting for review, in one table: reviewer groups, quorum, what is missing
  (and who approved, when approvals are given);
- counts per source;
- orphaned accounts (folded);
- one folded ``<details>`` section per identity, one order per list item, identities
  with orders waiting for review first; or, when cut, a table of counts per identity;
- warnings and the plan's digest.

GitHub refuses a comment over 65,536 characters: the comment is kept under ``limit``
UTF-8 bytes (which are never fewer than characters), and is only ever cut between
blocks, never inside a table or a list, and never without saying so. This module
decides what fits and how a cut comment says so; the blocks themselves are
``comment.py``'s, what is said about reviews and counts ``review.py``'s.

Every value that comes from the configuration or a target (names, entitlements,
attribute values, warnings) is escaped before it is written (``markup.py``): Markdown
punctuation is backslash-escaped, ``<`` and ``&`` cannot start HTML or an entity,
newlines cannot end a table row or a list item, and inside HTML (``<summary>``) values
are HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping

from accesshive.approvals.declines import Decline
from accesshive.approvals.model import OrderApproval
from accesshive.plan.model import Plan
from accesshive.render.comment import Comment, identity_label
from accesshive.render.describe import plural
from accesshive.render.markup import join, md, size, table
from accesshive.render.review import CATEGORIES, counts

GITHUB_LIMIT = 65_536
"""The longest comment GitHub accepts, in characters."""
LIMIT = 60_000
"""What the comment may take, in UTF-8 bytes: room left for the marker CI puts before
it, and never over GitHub's limit whatever the characters."""
MAX_GATED_WHEN_CUT = 100
MAX_CHANGED_WHEN_CUT = 100


def _whole(comment: Comment, limit: int) -> str:
    """Every block, each identity's orders listed; cut (``_cut``) when that is too long."""
    head, tail = comment.head(), comment.tail()
    middle = [comment.sources_section(), comment.orphans_section()]
    blocks = [
        head,
        comment.policy_change_section(),
        comment.declined_section(None),
        comment.gated_section(None),
        *middle,
    ]
    if comment.identities:
        # each identity's section while the whole still fits; stop at the first that
        # does not (a large plan is not rendered whole only to be measured)
        used = size(join([*blocks, comment.identities_title(), tail]))
        sections = []
        for identity, orders in comment.identities:
            block = comment.identity_block(identity, orders)
            used += size(block) + 1
            if used > limit:
                return _cut(comment, limit, head, middle, tail)
            sections.append(block)
        blocks.append(comment.identities_title() + "\n" + "\n".join(sections))
    full = join([*blocks, tail])
    if size(full) <= limit:
        return full
    return _cut(comment, limit, head, middle, tail)


def _cut(comment: Comment, limit: int, head: str, middle: list[str], tail: str) -> str:
    """Too long for one comment: counts per identity, as many as fit, and say so."""
    total = len(comment.identities)
    gated = join(
        [
            comment.policy_change_section(),
            comment.declined_section(MAX_GATED_WHEN_CUT),
            comment.gated_section(MAX_GATED_WHEN_CUT),
        ]
    )
    title = "#### Orders per identity (counts; the full plan lists each order)\n\n"
    base = join([head, _cut_notice(comment, total), gated, *middle, "", tail])
    # the changes to what exists, each in full, in at most half the room left
    room = (limit - size(base) - size(title) - 400) // 2
    listed = MAX_CHANGED_WHEN_CUT
    changed = comment.changed_section(listed)
    while listed and size(changed) > room:
        listed //= 2
        changed = comment.changed_section(listed)
    gated = join([gated, changed])
    fixed = join([head, _cut_notice(comment, total), gated, *middle, "", tail])
    budget = limit - size(fixed) - size(title) - 400
    rows, shown = _identity_counts(comment, max(budget, 0))
    rest = comment.identities[shown:]
    section = title + rows
    if rest:
        section += (
            f"\n{plural(len(rest), 'more identity', 'more identities')} with "
            f"{plural(sum(len(o) for _, o in rest), 'order')} not listed here: "
            f"{comment.show} lists them.\n"
        )
    return join([head, _cut_notice(comment, shown), gated, *middle, section, tail])


def _cut_notice(comment: Comment, shown: int) -> str:
    plan, total = comment.plan, len(comment.identities)
    return (
        f"> ✂️ **This comment is cut.** The whole plan "
        f"({plural(len(plan.orders), 'order')} for "
        f"{plural(total, 'identity', 'identities')}) does not fit in one comment: GitHub "
        f"refuses comments over {GITHUB_LIMIT:,} characters. So each identity's orders are "
        f"counted here, not listed ({shown:,} of {total:,} identities shown). "
        f"The full plan is the plan file `{md(comment.plan_file)}` (in CI, this run's "
        f"artefact): {comment.show} lists every order.\n"
    )


def _identity_counts(comment: Comment, budget: int) -> tuple[str, int]:
    """The per-identity counts table, as many rows as ``budget`` bytes allow."""
    header = [
        "identity",
        "to add",
        "to change",
        "to remove",
        "manual tasks",
        "waiting for review",
    ]
    text = table(header, ["---", *["---:"] * 5], [])
    used = size(text)
    rows = []
    for identity, orders in comment.identities:
        name, kind = identity_label(comment.plan, identity)
        c = counts(orders)
        waiting = sum(1 for o in orders if comment.review.waiting(o))
        cell = md(name) + (f" ({md(kind)})" if kind else "")
        row = "| " + " | ".join([cell, *(f"{c[k]:,}" for k in CATEGORIES), f"{waiting:,}"]) + " |\n"
        if used + size(row) > budget:
            break
        rows.append(row)
        used += size(row)
    return text + "".join(rows), len(rows)


def render_markdown(
    plan: Plan,
    approvals: Mapping[str, OrderApproval] | None = None,
    plan_file: str = "plan.json",
    limit: int = LIMIT,
    declines: Mapping[str, list[Decline]] | None = None,
    no_reviewer: str | None = None,
    artefact: bool = False,
) -> str:
    """The pull-request comment for ``plan``.

    ``approvals``: each gated order's verdict (``approvals.operations.check``), when
    known; ``plan_file``: the name the full plan is found under; ``declines``: the
    declines that hold per declined order (``approvals.operations.check_declines``);
    ``no_reviewer``: the review policy file, when it declares no reviewer (the comment
    says to declare them instead of how to approve); ``artefact``: ``plan_file`` is the
    name reviewers save the CI run's plan file as (the comment says so).
    """
    return _whole(Comment(plan, approvals, plan_file, declines, no_reviewer, artefact), limit)
