"""The blocks of the pull-request comment, each rendered whole: the headline, the
declined and waiting-for-review tables, counts per source, orphaned accounts, one
section per identity, the tail.

Why a module of its own: each block is complete on its own (a table or a list is never
cut), so ``markdown.py`` can decide which of them fit in one comment without knowing
what is in them. The order of the identities, and which orders count as waiting, are
decided once here (``Comment``), so every block lists them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from accesshive.approvals.declines import Decline
from accesshive.approvals.model import Gated, OrderApproval
from accesshive.plan.kinds import GROUP_ACTIONS, OrderKind
from accesshive.plan.model import POLICY_CHANGE, Plan
from accesshive.plan.orders import Order
from accesshive.render.describe import GROUPS_LABEL, marker, plural, summary_line
from accesshive.render.markup import h, md, table
from accesshive.render.review import CATEGORIES, Review, counts, describe_counts, summary_text

MAX_ORPHANS = 50
NEW = frozenset(
    {OrderKind.CREATE_ACCOUNT, OrderKind.GRANT, OrderKind.CREATE_GROUP, OrderKind.STORE_CREDENTIAL}
)
"""What only adds (a joiner's account, a grant): every other action changes or removes
what exists, and a cut comment lists those first, each in full (``changed_section``):
a change that pads itself with joiners must not hide an email changed among them."""
MAX_WARNINGS = 20
MAX_SOURCES = 100


def identity_label(plan: Plan, identity: str | None) -> tuple[str, str]:
    """The identity's name and (type, lifecycle state), as plain text."""
    if identity is None:
        return "(accounts without identity)", ""
    if identity == GROUPS_LABEL:  # not an identity id: ids never start with "("
        return GROUPS_LABEL, ""
    meta = (plan.identities or {}).get(identity, {})
    return identity, f"{meta.get('type', '?')}, {meta.get('lifecycle_state', '?')}"


class Comment:
    """One plan's comment, one method per block: the review of its gated orders, and its
    identities in the order every block lists them."""

    def __init__(
        self,
        plan: Plan,
        approvals: Mapping[str, OrderApproval] | None,
        plan_file: str,
        declines: Mapping[str, list[Decline]] | None = None,
        no_reviewer: str | None = None,
        artefact: bool = False,
    ) -> None:
        self.plan = plan
        self.artefact = artefact
        """``plan_file`` is the name reviewers save the CI run's plan file (its artefact)
        as, in their checkout of the pull request: the approve command says so."""
        self.no_reviewer = no_reviewer
        """The review policy file, when it is known to declare no reviewer: the comment
        then says to declare them, not an ``approve`` command that refuses every key."""
        self.review = Review(approvals, declines or {})
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

        def rank(item: tuple[str | None, list[Order]]) -> tuple[bool, bool, str]:
            identity, orders = item
            name, kind = identity_label(plan, identity)
            key = f"{name} ({kind})" if kind else name
            waiting = any(self.review.waiting(o) for o in orders)
            return (not waiting, not any(changes_what_exists(o) for o in orders), key)

        self.identities = sorted(by_identity.items(), key=rank)

    # ------------------------------------------------------------------ blocks

    def head(self) -> str:
        plan = self.plan
        s = plan.summary()
        first = f"### {summary_text(plan, self.review)}\n"
        if not plan.orders and plan.policy_change is not None:
            what = (
                f"**No order to run.** The targets match the configuration of "
                f"{md(plan.project)}; this change edits the review policies in force, "
                "which must approve it (below)."
            )
        elif not plan.orders:
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

    def policy_change_section(self) -> str:
        """What the change adds to or loosens in the review policies in force: reviewed
        like a gated order (``policy-change``), by the reviewers of those in force."""
        change = self.plan.policy_change
        if change is None:
            return ""
        gated = Gated.of_change(change)
        waiting = self.review.waiting(gated)
        title = "Waiting for review" if waiting else "Reviewed"
        header = ["order", "what", "reviewer groups", "quorum", "missing"]
        align = ["---", "---", "---", "---:", "---"]
        row = [
            f"`{POLICY_CHANGE}`",
            md(change.summary()),
            md(", ".join(change.gate.reviewer_groups)),
            " + ".join(str(n.quorum) for n in change.gate.needs()),
            self.review.missing(gated),
        ]
        if self.review.approvals is not None:
            header.append("approved by")
            align.append("---")
            row.append(self.review.approvers(gated))
        text = (
            f"#### Policy change: {title.lower()}\n\nThis change adds to or loosens the "
            "review policies in force. Its orders are judged by both; its policies are put "
            "in force only once reviewers of those in force approve it.\n\n"
            + table(header, align, [row])
        )
        if waiting:
            name = self.plan_file.replace("`", "")
            text += (
                f"\nApprove with `accesshive approve {name} --order {POLICY_CHANGE} "
                "--key ~/.ssh/id_ed25519` (your key as the policies in force list it), and "
                "commit the approvals file to this pull request.\n"
            )
        return text

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
            + table(["order", "what", "declined by", "reason"], ["---"] * 4, rows)
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
        # the declined ones have their own table; counted here, they are not lost
        declined = sum(1 for o in self.plan.orders if o.gate and self.review.declined(o))
        of = plural(len(self.gated) + declined, "gated order")
        said = f"; {declined:,} declined" if declined else ""
        if waiting:
            title = f"#### Waiting for review ({waiting:,} of {of}{said})"
        else:  # every row below says who approved it (or that it was declined)
            title = f"#### Reviewed: none of {of} waits{said}"
        with_approvals = self.review.approvals is not None
        # the identity id beside what the order says: a display name (a manual task's
        # account, "Grace Hopper") can be borrowed by a newcomer; an id cannot (ASCII, unique)
        header = ["order", "identity", "what", "reviewer groups", "quorum", "missing"]
        align = ["---", "---", "---", "---", "---:", "---"]
        if with_approvals:
            header.append("approved by")
            align.append("---")
        shown = self.gated if max_rows is None else self.gated[:max_rows]
        rows = []
        for o in shown:
            assert o.gate is not None
            row = [
                f"`{o.id}`",
                md(identity_label(self.plan, o.change.identity)[0]),
                md(summary_line(o)),
                md(", ".join(o.gate.reviewer_groups)),
                " + ".join(str(n.quorum) for n in o.gate.needs()),
                self.review.missing(o),
            ]
            if with_approvals:
                row.append(self.review.approvers(o))
            rows.append(row)
        text = title + "\n\n" + table(header, align, rows)
        if len(shown) < len(self.gated):
            text += (
                f"\n{plural(len(self.gated) - len(shown), 'more gated order')} "
                f"not listed here: {self.show} lists them.\n"
            )
        if waiting and self.no_reviewer is not None:
            text += (
                f"\nNo reviewer is declared to approve them, so none can be approved yet: "
                f"list reviewers, with their groups and SSH public keys, under "
                f'review.reviewers in {md(self.no_reviewer)} (README: "Review gates and '
                'approvals"), then plan again.\n'
            )
        elif waiting and self.artefact:
            name = self.plan_file.replace("`", "")
            text += (
                f"\nApprove from your checkout of this pull request, with this run's plan "
                f"file (its artefact) saved there as `{name}`: `accesshive approve {name} "
                "--all-gated --key ~/.ssh/id_ed25519` (your key as policies/review.yaml lists "
                "it; `--order ID` for some of them), and commit the approvals file to this "
                "pull request.\n"
            )
        elif waiting:
            text += (
                f"\nApprove with `accesshive approve {self.plan_file.replace('`', '')} "
                "--all-gated --key ~/.ssh/id_ed25519` (your key as policies/review.yaml lists "
                "it; `--order ID` for some of them), and commit the approvals file to this "
                "pull request.\n"
            )
        return text

    def changed_section(self, max_rows: int) -> str:
        """The orders that change or remove what exists (not a new account or grant),
        each in full: for a cut comment, which only counts each identity's orders."""
        changed = [o for o in self.plan.orders if changes_what_exists(o)]
        if not changed:
            return ""
        title = f"#### Changes to what exists ({len(changed):,})"
        if max_rows == 0:  # no room: said, with where they are listed
            return f"{title}\n\nNot listed here for room: {self.show} lists them.\n"
        rows = [
            [f"`{o.id}`", md(identity_label(self.plan, o.change.identity)[0]), md(summary_line(o))]
            for o in changed[:max_rows]
        ]
        text = title + "\n\n" + table(["order", "identity", "what"], ["---"] * 3, rows)
        if len(changed) > max_rows:
            text += (
                f"\n{plural(len(changed) - max_rows, 'more change')} to what exists not "
                f"listed here: {self.show} lists them.\n"
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
            c = counts(orders)
            waiting = sum(1 for o in orders if self.review.waiting(o))
            rows.append(
                [md(source), *(f"{c[k]:,}" for k in CATEGORIES), f"{waiting:,}", f"{len(orders):,}"]
            )
        text = "#### Orders per source\n\n" + table(
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
            "identity</summary>\n\n" + table(["source", "account", "state"], ["---"] * 3, rows)
        )
        if len(orphans) > MAX_ORPHANS:
            more = plural(len(orphans) - MAX_ORPHANS, "more orphaned account")
            text += f"\n{more} not listed here: {self.show} lists them.\n"
        return text + "\n</details>\n"

    def identity_block(self, identity: str | None, orders: list[Order]) -> str:
        name, kind = identity_label(self.plan, identity)
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
            f"<details><summary>{label}: {h(describe_counts(counts(orders), waiting))}"
            "</summary>\n\n" + "\n".join(items) + "\n\n</details>\n"
        )

    def identities_title(self) -> str:
        return f"#### Orders by identity ({len(self.identities):,})\n"

    def tail(self) -> str:
        plan = self.plan
        return (
            f"<sub>plan digest `{plan.digest[:16]}` · config `{plan.config_digest[:12]}` · "
            f"accesshive {md(plan.tool_version)}</sub>\n"
        )


def changes_what_exists(order: Order) -> bool:
    """Whether the order changes or removes an account, a grant or a group that exists
    (a manual task is judged by the action it asks for)."""
    return order.change.action not in NEW
