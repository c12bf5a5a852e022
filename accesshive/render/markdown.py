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
blocks, never inside a table or a list, and never without saying so.

Every value that comes from the configuration or a target (names, entitlements,
attribute values, warnings) is escaped before it is written: Markdown punctuation is
backslash-escaped, ``<`` and ``&`` cannot start HTML or an entity, newlines cannot end a
table row or a list item, and inside HTML (``<summary>``) values are HTML-escaped.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from accesshive.approvals.declines import Decline
from accesshive.approvals.model import OrderApproval
from accesshive.plan.kinds import ADDING, CHANGING, GROUP_ACTIONS, REMOVING
from accesshive.plan.model import Plan
from accesshive.plan.orders import Order
from accesshive.render.describe import GROUPS_LABEL, marker, plural, summary_line

GITHUB_LIMIT = 65_536
"""The longest comment GitHub accepts, in characters."""
LIMIT = 60_000
"""What the comment may take, in UTF-8 bytes: room left for the marker CI puts before
it, and never over GitHub's limit whatever the characters."""
MAX_GATED_WHEN_CUT = 100
MAX_ORPHANS = 50
MAX_WARNINGS = 20
MAX_SOURCES = 100

CATEGORIES = ("add", "change", "remove", "manual")
"""What an order does, for counting: every order is exactly one of these."""

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$!])")
"""What could start emphasis, code, a link, HTML, an entity, math (GitHub) or end a cell."""
_MENTION = re.compile(r"(?<![\w.+-])@(?=[A-Za-z0-9])")
"""An ``@`` GitHub would read as a mention (``@someone``, ``@org/team``), not the ``@``
of an e-mail address."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _flat(text: object) -> str:
    """One line: a newline becomes ␤, a tab a space, other control characters �."""
    one = _NEWLINE.sub("␤", str(text)).replace("\t", " ")
    return _CONTROL.sub("\ufffd", one)


def md(text: object) -> str:
    """``text`` as literal inline Markdown, safe in a paragraph, list item or table cell;
    an ``@`` that would start a mention becomes ``&#64;``, so that text from identities,
    targets or a decline's reason notifies nobody on GitHub (an e-mail address is no
    mention and stays as it is)."""
    return _MENTION.sub("&#64;", _MD_SPECIAL.sub(r"\\\1", _flat(text)))


def h(text: object) -> str:
    """``text`` as literal HTML text (inside ``<summary>``)."""
    return html.escape(_flat(text), quote=True)


def category(order: Order) -> str:
    if order.kind == "manual_task":
        return "manual"
    if order.action in ADDING:
        return "add"
    if order.action in CHANGING:
        return "change"
    if order.action in REMOVING:  # pragma: no branch - kinds.py checks the three cover all
        return "remove"
    raise AssertionError(order.action)  # pragma: no cover


def _counts(orders: Iterable[Order]) -> Counter[str]:
    return Counter(category(o) for o in orders)


@dataclass(frozen=True)
class _Review:
    """What the comment says about one gated order's review."""

    approvals: Mapping[str, OrderApproval] | None
    declines: Mapping[str, list[Decline]]

    def declined(self, order: Order) -> bool:
        return bool(self.declines.get(order.id))

    def decliners(self, order: Order) -> str:
        return ", ".join(md(d.reviewer) for d in self.declines.get(order.id, []))

    def reasons(self, order: Order) -> str:
        return "; ".join(md(d.reason) for d in self.declines.get(order.id, []))

    def approved(self, order: Order) -> bool:
        v = self.approvals.get(order.id) if self.approvals is not None else None
        return v is not None and v.approved

    def waiting(self, order: Order) -> bool:
        """Gated, not approved, and not declined (a declined order waits for nothing)."""
        return order.gate is not None and not self.approved(order) and not self.declined(order)

    def missing(self, order: Order) -> str:
        assert order.gate is not None
        v = self.approvals.get(order.id) if self.approvals is not None else None
        if v is None:
            return f"{order.gate.quorum} approval{'s' if order.gate.quorum != 1 else ''}"
        if v.approved:
            return "nothing: approved"
        return f"{v.missing} approval{'s' if v.missing != 1 else ''}"

    def approvers(self, order: Order) -> str:
        v = self.approvals.get(order.id) if self.approvals is not None else None
        if v is None:
            return ""
        text = ", ".join(md(a) for a in v.approvers) or "nobody yet"
        if v.rejected:
            text += "; not counted: " + "; ".join(f"{md(r)} ({md(why)})" for r, why in v.rejected)
        return text

    def state(self, order: Order) -> str:
        if order.gate is None:
            return ""
        groups = ", ".join(order.gate.reviewer_groups)
        if self.approved(order):
            return f"✅ approved ({order.gate.quorum} of {md(groups)})"
        return f"⚠️ waiting for review: {self.missing(order)} from {md(groups)}"


def summary_text(plan: Plan, review: _Review) -> str:
    c = _counts(plan.orders)
    waiting = sum(1 for o in plan.orders if review.waiting(o))
    text = (
        f"Plan: {c['add']:,} to add, {c['change']:,} to change, {c['remove']:,} to remove, "
        f"{plural(c['manual'], 'manual task')}, {waiting:,} waiting for review"
    )
    # a declined order is not applied, whoever else approved it: counted once, as declined
    approved = sum(
        1 for o in plan.orders if o.gate and review.approved(o) and not review.declined(o)
    )
    if approved:
        text += f", {approved:,} approved"
    declined = sum(1 for o in plan.orders if review.declined(o))
    if declined:
        text += f", {declined:,} declined"
    return text


def _table(header: list[str], align: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _identity_label(plan: Plan, identity: str | None) -> tuple[str, str]:
    """The identity's name and (type, lifecycle state), as plain text."""
    if identity is None:
        return "(accounts without identity)", ""
    if identity == GROUPS_LABEL:  # not an identity id: ids never start with "("
        return GROUPS_LABEL, ""
    meta = (plan.identities or {}).get(identity, {})
    return identity, f"{meta.get('type', '?')}, {meta.get('lifecycle_state', '?')}"


def _describe_counts(c: Counter[str], waiting: int) -> str:
    words = {"add": "to add", "change": "to change", "remove": "to remove"}
    parts = [f"{c[k]:,} {words[k]}" for k in ("add", "change", "remove") if c[k]]
    if c["manual"]:
        parts.append(plural(c["manual"], "manual task"))
    if waiting:
        parts.append(f"{waiting:,} waiting for review")
    return ", ".join(parts)


class _Comment:
    def __init__(
        self,
        plan: Plan,
        approvals: Mapping[str, OrderApproval] | None,
        plan_file: str,
        declines: Mapping[str, list[Decline]] | None = None,
    ) -> None:
        self.plan = plan
        self.review = _Review(approvals, declines or {})
        self.plan_file = plan_file
        self.show = f"`accesshive show {plan_file.replace('`', '')}`"
        # a declined order has its own table (who declined it and why): listing it here
        # too, as "nobody yet", told reviewers it still waited for them
        gated = [o for o in plan.orders if o.gate and not self.review.declined(o)]
        # waiting first, then approved; plan order within each
        self.gated = sorted(gated, key=lambda o: not self.review.waiting(o))
        by_identity: dict[str | None, list[Order]] = {}
        for o in plan.orders:
            key = GROUPS_LABEL if o.action in GROUP_ACTIONS else o.change.identity
            by_identity.setdefault(key, []).append(o)
        # identities with orders waiting for review first, then by name and kind (as the
        # text rendering's `groups` sorts them)

        def rank(item: tuple[str | None, list[Order]]) -> tuple[bool, str]:
            identity, orders = item
            name, kind = _identity_label(plan, identity)
            key = f"{name} ({kind})" if kind else name
            return (not any(self.review.waiting(o) for o in orders), key)

        self.identities = sorted(by_identity.items(), key=rank)

    # ------------------------------------------------------------------ blocks

    def head(self) -> str:
        plan = self.plan
        s = plan.summary()
        first = f"### {summary_text(plan, self.review)}\n"
        if not plan.orders:
            what = f"**No changes.** The targets match the configuration of {md(plan.project)}."
        else:
            what = (
                f"accesshive plan of **{md(plan.project)}**: "
                f"{plural(s['orders'], 'order')} for "
                f"{plural(s['identities'], 'identity', 'identities')} "
                f"on {plural(len(s['by_source']), 'source')}, "
                f"{plural(s['orphans'], 'orphaned account')}"
            )
        return first + "\n" + what + "\n" + self.warnings_block()

    def warnings_block(self) -> str:
        """The plan's warnings right under its headline, before anything a reviewer
        approves: a record left out, a source planned without its snapshot."""
        plan = self.plan
        if not plan.warnings:
            return ""
        parts = [f"> ⚠️ {md(w)}\n" for w in plan.warnings[:MAX_WARNINGS]]
        text = "\n" + "\n".join(parts)
        if len(plan.warnings) > MAX_WARNINGS:
            more = plural(len(plan.warnings) - MAX_WARNINGS, "more warning")
            text += f"\n{more}: {self.show} lists them.\n"
        return text

    def cut_notice(self, shown: int) -> str:
        plan, total = self.plan, len(self.identities)
        return (
            f"> ✂️ **This comment is cut.** The whole plan "
            f"({plural(len(plan.orders), 'order')} for "
            f"{plural(total, 'identity', 'identities')}) does not fit in one comment: GitHub "
            f"refuses comments over {GITHUB_LIMIT:,} characters. So each identity's orders are "
            f"counted here, not listed ({shown:,} of {total:,} identities shown). "
            f"The full plan is the plan file `{md(self.plan_file)}` (in CI, this run's "
            f"artefact): {self.show} lists every order.\n"
        )

    def declined_section(self, max_rows: int | None) -> str:
        declined = [o for o in self.plan.orders if self.review.declined(o)]
        if not declined:
            return ""
        shown = declined if max_rows is None else declined[:max_rows]
        rows = [
            [f"`{o.id}`", md(summary_line(o)), self.review.decliners(o), self.review.reasons(o)]
            for o in shown
        ]
        text = (
            f"#### Declined ({plural(len(declined), 'order')})\n\nNot applied; what depends on "
            "them is blocked.\n\n"
            + _table(["order", "what", "declined by", "reason"], ["---"] * 4, rows)
        )
        if len(shown) < len(declined):
            text += (
                f"\n{plural(len(declined) - len(shown), 'more declined order')} "
                f"not listed here: `accesshive approvals verify` lists them.\n"
            )
        return text

    def gated_section(self, max_rows: int | None) -> str:
        if not self.gated:
            return ""
        waiting = sum(1 for o in self.gated if self.review.waiting(o))
        title = f"#### Waiting for review ({waiting:,} of {plural(len(self.gated), 'gated order')})"
        with_approvals = self.review.approvals is not None
        header = ["order", "what", "reviewer groups", "quorum", "missing"]
        align = ["---", "---", "---", "---:", "---"]
        if with_approvals:
            header.append("approved by")
            align.append("---")
        shown = self.gated if max_rows is None else self.gated[:max_rows]
        rows = []
        for o in shown:
            assert o.gate is not None
            row = [
                f"`{o.id}`",
                md(summary_line(o)),
                md(", ".join(o.gate.reviewer_groups)),
                str(o.gate.quorum),
                self.review.missing(o),
            ]
            if with_approvals:
                row.append(self.review.approvers(o))
            rows.append(row)
        text = title + "\n\n" + _table(header, align, rows)
        if len(shown) < len(self.gated):
            text += (
                f"\n{plural(len(self.gated) - len(shown), 'more gated order')} "
                f"not listed here: {self.show} lists them.\n"
            )
        if waiting:
            text += (
                f"\nApprove with `accesshive approve {self.plan_file.replace('`', '')} "
                "--all-gated --key ~/.ssh/id_ed25519` (your key as policies/review.yaml lists "
                "it; `--order ID` for some of them), and commit the approvals file to this "
                "pull request.\n"
            )
        return text

    def sources_section(self) -> str:
        per: dict[str, list[Order]] = {}
        for o in self.plan.orders:
            per.setdefault(o.change.source, []).append(o)
        if not per:
            return ""
        rows = []
        for source, orders in sorted(per.items())[:MAX_SOURCES]:
            c = _counts(orders)
            waiting = sum(1 for o in orders if self.review.waiting(o))
            rows.append(
                [md(source), *(f"{c[k]:,}" for k in CATEGORIES), f"{waiting:,}", f"{len(orders):,}"]
            )
        text = "#### Orders per source\n\n" + _table(
            [
                "source",
                "to add",
                "to change",
                "to remove",
                "manual tasks",
                "waiting for review",
                "orders",
            ],
            ["---", *["---:"] * 6],
            rows,
        )
        if len(per) > MAX_SOURCES:
            text += f"\n{plural(len(per) - MAX_SOURCES, 'more source')} not listed here.\n"
        kinds = self.plan.summary()["by_kind"]
        text += "\nBy kind: " + ", ".join(f"{n:,} `{k}`" for k, n in kinds.items()) + ".\n"
        return text

    def orphans_section(self) -> str:
        orphans = self.plan.orphans
        if not orphans:
            return ""
        rows = [
            [md(x.source), md(x.name or x.account), "enabled" if x.enabled else "disabled"]
            for x in orphans[:MAX_ORPHANS]
        ]
        text = (
            f"<details><summary>Orphaned accounts ({len(orphans):,}): on a target, owned by no "
            "identity</summary>\n\n" + _table(["source", "account", "state"], ["---"] * 3, rows)
        )
        if len(orphans) > MAX_ORPHANS:
            more = plural(len(orphans) - MAX_ORPHANS, "more orphaned account")
            text += f"\n{more} not listed here: {self.show} lists them.\n"
        return text + "\n</details>\n"

    def identity_block(self, identity: str | None, orders: list[Order]) -> str:
        name, kind = _identity_label(self.plan, identity)
        waiting = sum(1 for o in orders if self.review.waiting(o))
        label = f"<b>{h(name)}</b>" + (f" ({h(kind)})" if kind else "")
        # gated orders first, then the plan's order
        listed = sorted(orders, key=lambda o: o.gate is None)
        items = []
        for o in listed:
            item = f"- `{marker(o)}` {md(summary_line(o))} · `{o.id}`"
            if self.review.declined(o):
                item += f" · ⛔ declined by {self.review.decliners(o)}: {self.review.reasons(o)}"
            elif o.gate:
                item += " · " + self.review.state(o)
            items.append(item)
        return (
            f"<details><summary>{label}: {h(_describe_counts(_counts(orders), waiting))}"
            "</summary>\n\n" + "\n".join(items) + "\n\n</details>\n"
        )

    def identities_title(self) -> str:
        return f"#### Orders by identity ({len(self.identities):,})\n"

    def identity_count_rows(self, budget: int) -> tuple[str, int]:
        """The per-identity counts table, as many rows as ``budget`` bytes allow."""
        header = [
            "identity",
            "to add",
            "to change",
            "to remove",
            "manual tasks",
            "waiting for review",
        ]
        text = _table(header, ["---", *["---:"] * 5], [])
        used = _bytes(text)
        rows = []
        for identity, orders in self.identities:
            name, kind = _identity_label(self.plan, identity)
            c = _counts(orders)
            waiting = sum(1 for o in orders if self.review.waiting(o))
            cell = md(name) + (f" ({md(kind)})" if kind else "")
            row = (
                "| "
                + " | ".join([cell, *(f"{c[k]:,}" for k in CATEGORIES), f"{waiting:,}"])
                + " |\n"
            )
            if used + _bytes(row) > budget:
                break
            rows.append(row)
            used += _bytes(row)
        return text + "".join(rows), len(rows)

    def tail(self) -> str:
        plan = self.plan
        return (
            f"<sub>plan digest `{plan.digest[:16]}` · config `{plan.config_digest[:12]}` · "
            f"accesshive {md(plan.tool_version)}</sub>\n"
        )

    # ------------------------------------------------------------------ whole

    def render(self, limit: int) -> str:
        head, tail = self.head(), self.tail()
        middle = [self.sources_section(), self.orphans_section()]
        blocks = [head, self.declined_section(None), self.gated_section(None), *middle]
        if self.identities:
            # each identity's section while the whole still fits; stop at the first that
            # does not (a large plan is not rendered whole only to be measured)
            used = _bytes(_join([*blocks, self.identities_title(), tail]))
            sections = []
            for identity, orders in self.identities:
                block = self.identity_block(identity, orders)
                used += _bytes(block) + 1
                if used > limit:
                    return self.render_cut(limit, head, middle, tail)
                sections.append(block)
            blocks.append(self.identities_title() + "\n" + "\n".join(sections))
        full = _join([*blocks, tail])
        if _bytes(full) <= limit:
            return full
        return self.render_cut(limit, head, middle, tail)

    def render_cut(self, limit: int, head: str, middle: list[str], tail: str) -> str:
        """Too long for one comment: counts per identity, as many as fit, and say so."""
        total = len(self.identities)
        gated = _join(
            [self.declined_section(MAX_GATED_WHEN_CUT), self.gated_section(MAX_GATED_WHEN_CUT)]
        )
        fixed = _join([head, self.cut_notice(total), gated, *middle, "", tail])
        title = "#### Orders per identity (counts; the full plan lists each order)\n\n"
        budget = limit - _bytes(fixed) - _bytes(title) - 400
        table, shown = self.identity_count_rows(max(budget, 0))
        rest = self.identities[shown:]
        section = title + table
        if rest:
            section += (
                f"\n{plural(len(rest), 'more identity', 'more identities')} with "
                f"{plural(sum(len(o) for _, o in rest), 'order')} not listed here: "
                f"{self.show} lists them.\n"
            )
        return _join([head, self.cut_notice(shown), gated, *middle, section, tail])


def _join(blocks: list[str]) -> str:
    """Blocks separated by one blank line: no block can run into the next."""
    return "\n".join(b for b in blocks if b)


def render_markdown(
    plan: Plan,
    approvals: Mapping[str, OrderApproval] | None = None,
    plan_file: str = "plan.json",
    limit: int = LIMIT,
    declines: Mapping[str, list[Decline]] | None = None,
) -> str:
    """The pull-request comment for ``plan``.

    ``approvals``: each gated order's verdict (``approvals.operations.check``), when
    known; ``plan_file``: the name the full plan is found under; ``declines``: the
    declines that hold per declined order (``approvals.operations.check_declines``).
    """
    return _Comment(plan, approvals, plan_file, declines).render(limit)
