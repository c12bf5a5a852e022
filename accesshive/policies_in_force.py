"""The review policies in force: those of the last complete apply in an environment.

Why: a pull request can edit ``policies/review.yaml`` and ``policies/classification.yaml``
as well as identities, so without this the policies that judge a change would be the
ones the change brings: add a reviewer with your own key, remove the rule or the
classification that gates your grant, un-revoke a key, and approve yourself. The store
keeps, per environment, the policies in force when an apply last completed its plan
(``PoliciesInForce``); while the repository's differ, an order is gated when either
gates it (with both sets of needs), and an approval counts only when it counts under
both. Once the change is applied, its policies are the ones in force.

Pure: the store reads and writes the JSON (``store/_policies.py``); planning, apply and
the approvals evaluation take the parsed value.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from accesshive.config import Config
from accesshive.config.policy import ClassificationPolicy, GuardrailPolicy, ReviewPolicy
from accesshive.config.targets import targets
from accesshive.errors import StoreError
from accesshive.plan.model import POLICY_CHANGE

ANY = "*"
"""Every source: what a scope to a source that is gone widens to (``widened``)."""


@dataclass(frozen=True)
class PoliciesInForce:
    """The review policy, the classification and the entitlements the sources flag
    ``sensitive: true``, as they were when an apply last completed its plan."""

    review: ReviewPolicy
    classification: ClassificationPolicy
    flagged: Mapping[str, frozenset[str]]
    """source → entitlements its file declares ``sensitive: true``."""
    promotion_from: str | None = None
    """The environment this one applies only configs promoted from
    (``require_promotion_from``): a change that removes the requirement must itself be
    promoted to be applied (``operations/promotion.py``)."""
    sources: frozenset[str] | None = None
    """The sources of the repository then (None: recorded before they were kept). A
    source they do not know is one the change adds: its grants are sensitive until the
    change is applied (``sensitive``), since a second source on the same target (the
    same database or directory under another name, without the first's
    ``sensitive: true``) would otherwise grant what the policies in force review."""
    targets: Mapping[str, str] | None = None
    """Source → the key of the system it wrote to then (``config/targets.py``; None:
    recorded before they were kept). A source of the repository on a system the policies
    in force know under other names is judged under those names too: swapping two
    sources' names, or an alias added in one change and granted on in the next, must not
    take a system's grants out of the review its flags and rules give them."""
    profile_grants: Mapping[str, frozenset[str]] | None = None
    """Access profile → the "source/entitlement" it granted then, for the profiles a review
    rule names (None: recorded before they were kept): a rule scoped to a profile covers
    what the profile granted in force, so a change that moves an entitlement out of the
    profile into a new one does not take it out of the rule's review."""
    guardrails: GuardrailPolicy | None = None
    """The mass-change guardrail then (None: recorded before it was kept): a change that
    raises ``max_removal_count`` is planned under the guardrail in force as well, so the
    same pull request cannot make a mass removal and loosen the limit that stops it."""

    @classmethod
    def of(cls, config: Config) -> PoliciesInForce:
        return cls(
            config.policies.review,
            config.policies.classification,
            {
                sid: frozenset(e for e, spec in s.entitlements.items() if spec.sensitive)
                for sid, s in sorted(config.sources.items())
            },
            promotion_from(config),
            frozenset(config.sources),
            dict(targets(config)),
            profile_grants(config),
            config.policies.guardrails,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            # unset, left out: policies kept before it existed read back byte for byte
            "review": self.review.model_dump(
                mode="json",
                exclude={"policy_changes"} if self.review.policy_changes is None else None,
            ),
            "classification": self.classification.model_dump(mode="json"),
            "flagged": {sid: sorted(ents) for sid, ents in sorted(self.flagged.items()) if ents},
        }
        if self.promotion_from is not None:
            out["promotion_from"] = self.promotion_from
        if self.sources is not None:
            out["sources"] = sorted(self.sources)
        if self.targets is not None:
            out["targets"] = dict(sorted(self.targets.items()))
        if self.profile_grants is not None:
            out["profile_grants"] = {p: sorted(g) for p, g in sorted(self.profile_grants.items())}
        if self.guardrails is not None:
            out["guardrails"] = self.guardrails.model_dump(mode="json")
        return out

    def text(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @property
    def digest(self) -> str:
        return sha256(self.text().encode("utf-8")).hexdigest()

    @classmethod
    def from_text(cls, text: str) -> PoliciesInForce:
        data = json.loads(text)
        return cls(
            ReviewPolicy.model_validate(data["review"]),
            ClassificationPolicy.model_validate(data["classification"]),
            {sid: frozenset(ents) for sid, ents in data.get("flagged", {}).items()},
            data.get("promotion_from"),
            None if data.get("sources") is None else frozenset(data["sources"]),
            None if data.get("targets") is None else dict(data["targets"]),
            None
            if data.get("profile_grants") is None
            else {p: frozenset(g) for p, g in data["profile_grants"].items()},
            None
            if data.get("guardrails") is None
            else GuardrailPolicy.model_validate(data["guardrails"]),
        )

    def granting(self, names: Iterable[str], entitlement: str) -> frozenset[str]:
        """The profiles (a review rule names) that granted ``entitlement`` on any of the
        sources ``names`` in force."""
        wanted = {f"{n}/{entitlement}" for n in names}
        return frozenset(p for p, g in (self.profile_grants or {}).items() if g & wanted)

    def known_as(self, source: str, target: str | None) -> frozenset[str]:
        """``source`` and every source these policies knew on ``target`` (the system the
        repository's ``source`` writes to now)."""
        if target is None or self.targets is None:
            return frozenset({source})
        return frozenset({source} | {s for s, t in self.targets.items() if t == target})

    def sensitive(self, source: str, entitlement: str, names: Iterable[str] | None = None) -> bool:
        """Whether these policies classify the entitlement sensitive on ``source``, known
        also by ``names`` (its target's names, ``known_as``; by default those of its own
        target then). ``*``: flagged on a source that is gone, see ``widened``."""
        if names is None:
            names = self.known_as(source, (self.targets or {}).get(source))
        every = sorted({source, *names})
        flagged = set(self.flagged.get(ANY, frozenset()))
        for name in every:
            flagged |= self.flagged.get(name, frozenset())
        return (
            entitlement in flagged
            or (self.sources is not None and source not in self.sources)
            or any(
                rule.matches(name, entitlement)
                for rule in self.classification.sensitive
                for name in every
            )
        )

    def gone(self, sources: Iterable[str]) -> list[str]:
        """What these policies scope to that none of ``sources`` is any more: a source
        that flags entitlements, a rule's or a classification's source pattern."""
        now = sorted(sources)
        found = {sid for sid in self.flagged if sid != ANY and sid not in now}
        for rule in self.review.rules:
            found |= {p for p in rule.sources if not _covers(p, now)}
        found |= {r.source for r in self.classification.sensitive if not _covers(r.source, now)}
        return sorted(found)

    def widened(self, sources: Iterable[str]) -> PoliciesInForce:
        """These policies with every scope to a source that is gone (``gone``) made to
        cover every source: renaming a source (or moving its entitlements to a new one)
        must not take its grants out of the review the policies in force give them. Too
        wide for a source really removed, but only until the change is applied."""
        now = sorted(sources)

        def widen(patterns: list[str]) -> list[str]:
            return [p if _covers(p, now) else ANY for p in patterns]

        review = self.review.model_copy(
            update={
                "rules": [
                    r.model_copy(update={"sources": widen(r.sources)}) for r in self.review.rules
                ]
            }
        )
        classification = self.classification.model_copy(
            update={
                "sensitive": [
                    r.model_copy(update={"source": widen([r.source])[0]})
                    for r in self.classification.sensitive
                ]
            }
        )
        flagged: dict[str, frozenset[str]] = {}
        for sid, ents in self.flagged.items():
            key = sid if sid in now or sid == ANY else ANY
            flagged[key] = flagged.get(key, frozenset()) | ents
        return PoliciesInForce(
            review,
            classification,
            flagged,
            self.promotion_from,
            self.sources,
            self.targets,
            self.profile_grants,
            self.guardrails,
        )


def profile_grants(config: Config) -> dict[str, frozenset[str]]:
    """Profile → "source/entitlement" it grants, for the profiles a review rule names."""
    patterns = [p for rule in config.policies.review.rules for p in rule.access_profiles]
    return {
        pid: frozenset(f"{profile.source}/{e}" for e in profile.entitlements)
        for pid, profile in sorted(config.access_profiles.items())
        if any(fnmatch.fnmatchcase(pid, p) for p in patterns)
    }


def promotion_from(config: Config) -> str | None:
    env = config.project.environments.get(config.environment)
    return env.require_promotion_from if env else None


def _covers(pattern: str, sources: list[str]) -> bool:
    """Whether a source pattern of the policies still matches a source of the repository."""
    return any(fnmatch.fnmatchcase(s, pattern) for s in sources)


def differing(config: Config, stored: str | None) -> PoliciesInForce | None:
    """The policies in force when they differ from the repository's, else None (no apply
    has completed a plan yet in this environment: the repository's are trusted as they
    are; or nothing changed)."""
    if stored is None:
        return None
    try:
        in_force = PoliciesInForce.from_text(stored)
    except (ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError too
        raise StoreError(
            "the review policies in force that the store keeps for this environment cannot "
            f"be read ({type(exc).__name__}); they judge every change to policies/, so "
            "nothing is planned or applied without them: restore the store from a backup"
        ) from exc
    return None if in_force.text() == PoliciesInForce.of(config).text() else in_force


def reviewer_changes(old: ReviewPolicy, new: ReviewPolicy) -> dict[str, set[str]]:
    """Per kind of change to the reviewers, the reviewers it concerns: what the warning
    lists, and what a policy change loosens (``policy_change.loosening``), found once."""
    o, n = old.reviewers, new.reviewers
    both = set(o) & set(n)

    def keys(name: str, policy: ReviewPolicy) -> set[bytes]:
        return {k.blob for k in policy.reviewers[name].ssh_keys()}

    return {
        "added": set(n) - set(o),
        "removed": set(o) - set(n),
        "groups": {x for x in both if set(o[x].groups) != set(n[x].groups)},
        "more groups": {x for x in both if set(n[x].groups) - set(o[x].groups)},
        "keys added": {x for x in both if keys(x, new) - keys(x, old)},
        "keys removed": {x for x in both if keys(x, old) - keys(x, new)},
        "revoked": {x for x in both if n[x].revoked > o[x].revoked},
        "un-revoked": {x for x in both if o[x].revoked > n[x].revoked},
        "own": {
            x
            for x in both
            if (o[x].identity, (o[x].email or "").casefold())
            != (n[x].identity, (n[x].email or "").casefold())
        },
        "github": {x for x in both if (o[x].github or "").lower() != (n[x].github or "").lower()},
    }


def changes(config: Config, in_force: PoliciesInForce) -> list[str]:
    """What the repository changed in the policies in force, concisely (for the warning)."""
    old, new = in_force.review, config.policies.review
    out: list[str] = []
    who = reviewer_changes(old, new)
    named(out, "reviewers added", who["added"])
    named(out, "reviewers removed", who["removed"])
    named(out, "reviewer groups changed", who["groups"])
    named(out, "keys added", who["keys added"])
    named(out, "keys removed", who["keys removed"])
    named(out, "revoked", who["revoked"])
    named(out, "un-revoked", who["un-revoked"])
    named(out, "reviewers' own identity or email changed", who["own"])
    named(out, "GitHub logins changed", who["github"])
    rules_old = {r.name: r for r in old.rules}
    rules_new = {r.name: r for r in new.rules}
    named(out, "rules added", set(rules_new) - set(rules_old))
    named(out, "rules removed", set(rules_old) - set(rules_new))
    named(
        out,
        "rules changed",
        {n for n in set(rules_old) & set(rules_new) if rules_old[n] != rules_new[n]},
    )
    if in_force.promotion_from != promotion_from(config):
        out.append(
            f"require_promotion_from: {in_force.promotion_from or 'none'} → "
            f"{promotion_from(config) or 'none'} (the change is applied here only once "
            f"promoted from {in_force.promotion_from})"
            if in_force.promotion_from
            else f"require_promotion_from: none → {promotion_from(config)}"
        )
    if in_force.profile_grants is not None:
        now_grants = profile_grants(config)
        named(
            out,
            "access profiles a review rule names now grant otherwise (the rule covers what "
            "they granted in force too, until this change is applied)",
            {
                p
                for p in set(in_force.profile_grants) | set(now_grants)
                if in_force.profile_grants.get(p) != now_grants.get(p)
            },
        )
    rails, now_rails = in_force.guardrails, config.policies.guardrails
    if rails is not None and rails != now_rails:
        out.append(
            "guardrails changed: "
            + ", ".join(
                f"{k} {getattr(rails, k)} → {getattr(now_rails, k)}"
                for k in type(rails).model_fields
                if getattr(rails, k) != getattr(now_rails, k)
            )
            + " (a plan must keep within the guardrail in force too until this change is "
            "applied)"
        )
    if old.policy_changes != new.policy_changes:
        out.append("who approves a change to the review policies changed (review.policy_changes)")
    for setting in ("allow_self_approval", "require_author"):
        if getattr(old, setting) != getattr(new, setting):
            out.append(f"{setting}: {getattr(old, setting)} → {getattr(new, setting)}")
    now = PoliciesInForce.of(config)
    sel_old = {selector(s) for s in in_force.classification.sensitive}
    sel_new = {selector(s) for s in now.classification.sensitive}
    named(out, "sensitive classifications added", sel_new - sel_old)
    named(out, "sensitive classifications removed", sel_old - sel_new)
    flag_old = {f"{s}/{e}" for s, ents in in_force.flagged.items() for e in ents}
    flag_new = {f"{s}/{e}" for s, ents in now.flagged.items() for e in ents}
    named(out, "entitlements flagged sensitive", flag_new - flag_old)
    named(out, "entitlements no longer flagged sensitive", flag_old - flag_new)
    named(
        out,
        "sources the policies in force name that are gone (their review covers every source "
        "until this change is applied)",
        set(in_force.gone(config.sources)),
    )
    if in_force.sources is None:
        out.append(
            "the policies in force were kept before accesshive kept their sources (the next "
            "complete apply keeps them)"
        )
    else:
        named(
            out,
            "sources added (their grants are reviewed as sensitive until this change is applied)",
            set(config.sources) - in_force.sources,
        )
        named(out, "sources removed", set(in_force.sources - set(config.sources)))
    on = targets(config)
    if in_force.targets is not None:
        named(
            out,
            "sources now on another system (each is judged by the policies in force under "
            "the names that system had too)",
            {s for s, t in in_force.targets.items() if s in on and on[s] != t},
        )
    elif in_force.sources is not None:
        out.append(
            "the policies in force were kept before accesshive kept each source's system "
            "(the next complete apply keeps them)"
        )
    return out or ["the policies differ (formatting or order only)"]


def selector(rule: Any) -> str:
    return f"{rule.source}:{','.join(rule.entitlements)}"


def named(out: list[str], what: str, names: set[str]) -> None:
    if names:
        out.append(f"{what}: {', '.join(sorted(names))}")


CHANGED = "the review policies (review.yaml, classification.yaml) changed since the last apply"
"""How the plan's warning of changed review policies begins (renderers put it first)."""


def policy_warnings(warnings: Iterable[str]) -> list[str]:
    """The plan's warnings that say this change edits the review policies: what a
    reviewer must read first (in ``plan``/``show``, ``approve``, ``approvals verify``)."""
    return [w for w in warnings if w.startswith(CHANGED)]


def warning(config: Config, in_force: PoliciesInForce, environment: str) -> str:
    """The plan's first warning when the repository changes the policies in force. It
    names the policies in force by digest, so the plan's digest covers them."""
    from accesshive.policy_change import policy_change  # builds on this module

    change = policy_change(config, in_force)
    approved = (
        ""
        if change is None
        else f", and once the policies in force approve it (the order {POLICY_CHANGE}: "
        f"{change.gate.wanted('approval(s)')})"
    )
    return (
        f"{CHANGED} in {environment} (policies in force {in_force.digest[:12]}): "
        + "; ".join(changes(config, in_force))
        + ". What this change adds or loosens takes effect once it is applied"
        + approved
        + " (a reviewer it removes or revokes stops counting at once): until then an order "
        "is gated when either the policies in force or the new ones gate it, and an "
        "approval counts only from a reviewer and key that both accept"
    )
