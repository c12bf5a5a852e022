"""Cross-file checks of a merged ``Config``: references, identity types, templates, secrets.

Each check is a small generator of diagnostics; ``validate`` runs them all so a
user sees every problem at once. Per-identity rendering (does this identity have
the attributes its accounts need, of the right types?) happens in ``expand``,
which reports in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from accesshive.config.config import Config
from accesshive.config.connections import check_connections
from accesshive.config.secrets import find_inline_secrets, is_reference
from accesshive.config.structure import describe, suggest
from accesshive.config.validate_groups import check_managed_groups
from accesshive.config.validate_identities import (
    check_identity_schema,
    check_identity_types,
    check_unique_emails,
    unknown_identity_attribute,
)
from accesshive.config.validate_kinds import check_profile_kinds, check_source_kinds
from accesshive.config.validate_paths import check_source_paths
from accesshive.diagnostics import Diagnostic, Location, Severity
from accesshive.expand.compiling import is_template, variables
from accesshive.expand.plain_values import UNAVAILABLE, VALUE_HINT
from accesshive.expand.templates import BUILTIN_VARIABLES, TemplateProblem

Check = Callable[[Config], Iterable[Diagnostic]]


def validate(config: Config, passed: frozenset[str] = frozenset()) -> list[Diagnostic]:
    """Every problem of ``config``. ``passed``: identities known to pass the checks that
    look at one identity at a time (``cache/check.py``); those checks skip them."""
    out: list[Diagnostic] = []
    for check in CHECKS:
        out.extend(check(config))
    for per_identity in PER_IDENTITY:
        out.extend(per_identity(config, passed))
    return out


def _dangling(
    what: str, ref: str, known: Iterable[str], where: Location, collection: str
) -> Diagnostic:
    known = sorted(known)
    guess = suggest(ref, known)
    if guess:
        hint = f"did you mean '{guess}'?"
    elif 0 < len(known) <= 8:
        hint = f"declared: {', '.join(known)}"
    else:
        hint = f"declare it under '{collection}:'"
    return Diagnostic("unknown-reference", f"{what} '{ref}' is not declared", where, hint=hint)


def check_identity_references(config: Config) -> Iterator[Diagnostic]:
    for iid, ident in config.identities.items():
        at = partial(config.origin, "identities", iid)
        if not config.declares("lifecycle_states", ident.lifecycle_state):
            yield _dangling(
                "lifecycle state",
                ident.lifecycle_state,
                config.lifecycle_states,
                at("lifecycle_state"),
                "lifecycle_states",
            )
        for i, rid in enumerate(ident.roles):
            if not config.declares("roles", rid):
                yield _dangling("role", rid, config.roles, at("roles", i), "roles")
        for i, pid in enumerate(ident.access_profiles):
            if not config.declares("access_profiles", pid):
                yield _dangling(
                    "access profile",
                    pid,
                    config.access_profiles,
                    at("access_profiles", i),
                    "access_profiles",
                )
        for i, sid in enumerate(ident.platforms):
            if not config.declares("sources", sid):
                yield _dangling("source", sid, config.sources, at("platforms", i), "sources")
        yield from _owner(config, iid)


def _owner(config: Config, iid: str) -> Iterator[Diagnostic]:
    ident = config.identities[iid]
    if ident.type == "human":
        return
    if ident.owner is None:
        yield Diagnostic(
            "missing-owner",
            f"identity '{iid}' is a {ident.type} without an owner",
            config.origin("identities", iid),
            hint="add 'owner: <human identity id>': someone must be accountable for it",
        )
    elif not config.declares("identities", ident.owner):
        yield _dangling(
            "owner",
            ident.owner,
            config.identities,
            config.origin("identities", iid, "owner"),
            "identities",
        )
    elif ident.owner in config.identities and config.identities[ident.owner].type != "human":
        yield Diagnostic(
            "invalid-owner",
            f"owner '{ident.owner}' of identity '{iid}' is not a human identity",
            config.origin("identities", iid, "owner"),
            hint="name the person accountable for it",
        )


def check_profile_and_role_references(config: Config) -> Iterator[Diagnostic]:
    for pid, profile in config.access_profiles.items():
        source = config.sources.get(profile.source)
        if source is None:
            if config.declares("sources", profile.source):
                continue
            yield _dangling(
                "source",
                profile.source,
                config.sources,
                config.origin("access_profiles", pid, "source"),
                "sources",
            )
            continue
        for i, ent in enumerate(profile.entitlements):
            if ent not in source.entitlements:
                guess = suggest(ent, source.entitlements)
                yield Diagnostic(
                    "unknown-reference",
                    f"entitlement '{ent}' is not declared on source '{profile.source}'",
                    config.origin("access_profiles", pid, "entitlements", i),
                    hint=f"did you mean '{guess}'?"
                    if guess
                    else f"declare it under sources.{profile.source}.entitlements",
                )
    for rid, role in config.roles.items():
        for i, pid in enumerate(role.access_profiles):
            if not config.declares("access_profiles", pid):
                yield _dangling(
                    "access profile",
                    pid,
                    config.access_profiles,
                    config.origin("roles", rid, "access_profiles", i),
                    "access_profiles",
                )
        schema = config.project.identity_attributes
        for key in (role.members_where or {}) if schema else ():
            if key not in schema:
                yield unknown_identity_attribute(
                    config, key, config.origin("roles", rid, "members_where", key)
                )


def check_sources(config: Config) -> Iterator[Diagnostic]:
    for kind, flag in (("google_workspace", None), (None, "identity_provider")):
        found = (
            config.sources_of_kind(kind)
            if kind
            else [s for s, src in sorted(config.sources.items()) if src.identity_provider]
        )
        for extra in found[1:]:
            yield Diagnostic(
                "ambiguous-source",
                f"source '{extra}' is a second {kind or flag} source; only one is allowed",
                config.origin("sources", extra),
                related=(config.origin("sources", found[0]),),
            )
    for sid, source in config.sources.items():
        if source.requires_google_workspace and config.google_workspace is None:
            yield Diagnostic(
                "missing-source",
                f"source '{sid}' requires Google Workspace, but no source has kind "
                "google_workspace",
                config.origin("sources", sid, "requires_google_workspace"),
                hint="declare the Google Workspace source, or drop requires_google_workspace",
            )
        if source.kind == "manual" and source.provisioning == "automatic":
            yield Diagnostic(
                "invalid-value",
                f"source '{sid}' is kind manual, so it cannot be provisioned automatically",
                config.origin("sources", sid, "provisioning"),
                hint="remove 'provisioning' or set it to manual",
            )
        yield from check_source_paths(config, sid)
        yield from _account_spec(config, sid)


def _account_spec(config: Config, sid: str) -> Iterator[Diagnostic]:
    source = config.sources[sid]
    spec = source.account
    at = partial(config.origin, "sources", sid, "account")
    managed = source.managed_attributes
    if spec.schema_:
        for part in ("create", "sync"):
            for attr in getattr(spec, part):
                if attr not in spec.schema_:
                    guess = suggest(attr, spec.schema_)
                    yield Diagnostic(
                        "unknown-attribute",
                        f"attribute '{attr}' is not in the account schema of source '{sid}'",
                        at(part, attr),
                        hint=f"did you mean '{guess}'?" if guess else "add it to account.schema",
                    )
        for attr, attr_spec in spec.schema_.items():
            if attr_spec.required and attr not in managed:
                yield Diagnostic(
                    "missing-required",
                    f"source '{sid}' requires account attribute '{attr}', but no create or "
                    "sync template sets it",
                    at("schema", attr),
                    hint=f"add '{attr}: \"{{{{ ... }}}}\"' under account.create",
                )
    for i, attr in enumerate(spec.correlation):
        if attr not in managed:
            yield Diagnostic(
                "unknown-attribute",
                f"correlation attribute '{attr}' is not set by source '{sid}'",
                at("correlation", i),
                hint="correlate on an attribute that create or sync templates set",
            )
    if spec.name_attribute and spec.name_attribute not in managed:
        yield Diagnostic(
            "unknown-attribute",
            f"name_attribute '{spec.name_attribute}' is not set by source '{sid}'",
            at("name_attribute"),
        )
    for part in ("create", "sync"):
        for attr, value in getattr(spec, part).items():
            yield from template_problems(config, value, at(part, attr))


def template_problems(config: Config, value: Any, where: Location) -> Iterator[Diagnostic]:
    """What is wrong with one account template: its syntax, undeclared variables."""
    if not is_template(value):
        return
    try:
        names = variables(value)
    except TemplateProblem as problem:
        yield Diagnostic(
            "template-syntax",
            str(problem),
            where,
            hint="templates read {{ variable }}, {{ variable|filter }} or {% if ... %}",
        )
        return
    schema = config.project.identity_attributes
    if not schema:
        return  # a name of UNAVAILABLE is refused when rendered, unless the identity has it
    for name in sorted(names - BUILTIN_VARIABLES):
        if name in schema:
            continue
        if name in UNAVAILABLE:
            shown = " ".join(str(value).split())
            yield Diagnostic(
                "template-value",
                f"template '{shown}' was refused: {UNAVAILABLE[name]}",
                where,
                hint=VALUE_HINT,
            )
        else:
            yield unknown_identity_attribute(config, name, where, in_template=True)


def check_lifecycle_states(config: Config) -> Iterator[Diagnostic]:
    for lid in config.lifecycle_states:
        state = config.lifecycle_states[lid]
        if state.delete_after_days is not None and state.accounts == "enabled":
            yield Diagnostic(
                "invalid-value",
                f"lifecycle state '{lid}' deletes accounts it keeps enabled",
                config.origin("lifecycle_states", lid, "delete_after_days"),
                hint="set accounts: disabled, or remove delete_after_days",
            )


def check_inline_secrets(config: Config, passed: frozenset[str]) -> Iterator[Diagnostic]:
    # the identities that passed are left out before sorting (most of them, warm)
    unchecked = [k for k in config.origins if not (k[0] == "identities" and k[1] in passed)]
    for collection, ident_path in sorted(unchecked):
        entity = getattr(config, collection)[ident_path]
        data = entity.model_dump(mode="python", by_alias=True, exclude_defaults=True)
        for path, what in find_inline_secrets(data):
            yield Diagnostic(
                "inline-secret",
                f"{describe((collection, ident_path, *path))}: {what}",
                config.origin(collection, ident_path, *path),
                hint="write a reference instead: ${env:NAME}, ${file:PATH} or ${vault:ID}, "
                "and rotate the secret: it is in your git history now",
            )


def check_review_groups(config: Config) -> Iterator[Diagnostic]:
    review = config.policies.review
    if not review.reviewers:
        return
    for i, rule in enumerate(review.rules):
        for j, group in enumerate(rule.reviewer_groups):
            members = sum(1 for r in review.reviewers.values() if group in r.groups)
            if members < rule.quorum:
                yield Diagnostic(
                    "unsatisfiable-review",
                    f"review rule '{rule.name}' needs {rule.quorum} reviewer(s) from group "
                    f"'{group}', which has {members}",
                    config.policy_origin("review", "rules", i, "reviewer_groups", j),
                    hint="add reviewers to that group or lower the quorum",
                    severity=Severity.WARNING,
                )


def check_reviewer_identities(config: Config) -> Iterator[Diagnostic]:
    """A reviewer's ``identity:`` that names no identity keeps nobody from approving
    their own access (a typo, or an identity renamed): said at its line. A warning, not
    an error: an identity an identity provider pushes is not in the repository."""
    known = {iid.lower() for iid in config.identities}
    for name, reviewer in sorted(config.policies.review.reviewers.items()):
        if reviewer.identity and reviewer.identity.lower() not in known:
            yield Diagnostic(
                "unknown-reference",
                f"reviewer '{name}' names identity '{reviewer.identity}', which is not "
                "declared: their approvals of that identity's access are not recognised "
                "as their own",
                config.policy_origin("review", "reviewers", name, "identity"),
                hint="name the reviewer's identity as identities/ declares it",
                severity=Severity.WARNING,
            )


def check_policy_references(config: Config) -> Iterator[Diagnostic]:
    """A policy naming a source or profile that does not exist would silently never match,
    and a sensitive grant would go unreviewed: refuse it. Globs are not checked."""
    for i, sel in enumerate(config.policies.classification.sensitive):
        yield from _policy_name(
            config,
            sel.source,
            "sources",
            config.policy_origin("classification", "sensitive", i, "source"),
        )
    for i, rule in enumerate(config.policies.review.rules):
        for j, pat in enumerate(rule.sources):
            yield from _policy_name(
                config, pat, "sources", config.policy_origin("review", "rules", i, "sources", j)
            )
        for j, pat in enumerate(rule.access_profiles):
            yield from _policy_name(
                config,
                pat,
                "access_profiles",
                config.policy_origin("review", "rules", i, "access_profiles", j),
            )


def _policy_name(
    config: Config, name: str, collection: str, where: Location
) -> Iterator[Diagnostic]:
    if any(ch in name for ch in "*?["):
        return
    if not config.declares(collection, name):
        noun = "source" if collection == "sources" else "access profile"
        yield _dangling(noun, name, getattr(config, collection), where, collection)


def check_credentials(config: Config) -> Iterator[Diagnostic]:
    for iid, ident in config.identities.items():
        spec = ident.credential
        if spec is None:
            continue
        if spec.mode == "managed" and ident.type != "shared_credential":
            yield Diagnostic(
                "invalid-value",
                f"identity '{iid}' is of type {ident.type}: only shared credentials can be managed "
                "(a password accesshive generates on a Google Workspace account)",
                config.origin("identities", iid, "credential", "mode"),
                hint="remove 'mode', or set it to external",
            )
        if spec.supplied_by is not None and not (
            spec.supplied_by == "stdin" or is_reference(spec.supplied_by)
        ):
            yield Diagnostic(
                "inline-secret",
                f"identity '{iid}': credential.supplied_by must say where the value comes from, "
                "not hold it",
                config.origin("identities", iid, "credential", "supplied_by"),
                hint="use ${env:NAME}, ${file:PATH} or stdin (accesshive vault put)",
            )
        if spec.supplied_by is not None and spec.mode == "managed":
            yield Diagnostic(
                "invalid-value",
                f"identity '{iid}': a managed credential is generated, never supplied",
                config.origin("identities", iid, "credential", "supplied_by"),
                hint="remove supplied_by, or set mode: external",
            )


CHECKS: tuple[Check, ...] = (
    check_identity_references,
    check_unique_emails,
    check_profile_and_role_references,
    check_sources,
    check_lifecycle_states,
    check_review_groups,
    check_reviewer_identities,
    check_policy_references,
    check_credentials,
    check_managed_groups,
    check_profile_kinds,
    check_source_kinds,
    check_connections,
)

PerIdentityCheck = Callable[[Config, frozenset[str]], Iterable[Diagnostic]]

PER_IDENTITY: tuple[PerIdentityCheck, ...] = (
    check_identity_schema,
    check_identity_types,
    check_inline_secrets,
)
"""Checks whose verdict on an identity depends on that identity and the configuration
around it only: what ``cache/check.py`` may remember per identity file."""
