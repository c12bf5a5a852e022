"""Checks of each identity against its type's provisioning flow and the declared
identity attributes (the checks that run once per identity: a large org has
hundreds of thousands, so these stay lean and build a location only for a problem).
"""

from __future__ import annotations

from collections.abc import Iterator

from accesshive.config.config import Config
from accesshive.config.structure import suggest
from accesshive.diagnostics import Diagnostic, Location
from accesshive.expand.assignment import (
    assign,
    credential_mode,
    is_credential_only,
    is_managed_credential,
)
from accesshive.expand.templates import BUILTIN_VARIABLES
from accesshive.expand.values import ValueProblem, coercer


def unknown_identity_attribute(
    config: Config, name: str, where: Location, in_template: bool = False
) -> Diagnostic:
    known = [*config.project.identity_attributes, *BUILTIN_VARIABLES]
    guess = suggest(name, known)
    what = "template variable" if in_template else "identity attribute"
    return Diagnostic(
        "undefined-variable",
        f"{what} '{name}' is not declared in identity_attributes",
        where,
        hint=f"did you mean '{guess}'?" if guess else "declare it in accesshive.yaml",
    )


def check_identity_schema(config: Config, passed: frozenset[str]) -> Iterator[Diagnostic]:
    schema = config.project.identity_attributes
    if not schema:
        return
    # each attribute's check with the common cases done at once (``coercer``): the same
    # problems as ``coerce``, which it falls back to for anything else
    fits = {key: coercer(spec) for key, spec in schema.items()}
    for iid, ident in config.identities.items():
        if iid in passed:
            continue
        for key, value in ident.attributes.items():
            fit = fits.get(key)
            if fit is None:
                where = config.origin("identities", iid, "attributes", key)
                yield unknown_identity_attribute(config, key, where)
                continue
            try:
                fit(value)
            except ValueProblem as problem:
                where = config.origin("identities", iid, "attributes", key)
                yield Diagnostic(
                    "wrong-type", f"identity '{iid}' attribute '{key}' {problem}", where
                )
        if ident.type != "human":
            continue
        for key, spec in schema.items():
            if spec.required and key not in ident.attributes:
                yield Diagnostic(
                    "missing-required",
                    f"identity '{iid}' lacks the required attribute '{key}'",
                    config.origin("identities", iid, "attributes")
                    if ident.attributes
                    else config.origin("identities", iid),
                    hint=f"add '{key}:' under attributes",
                )


def check_identity_types(config: Config, passed: frozenset[str]) -> Iterator[Diagnostic]:
    """Each identity type has its provisioning flow; refuse assignments outside it."""
    for iid, ident in config.identities.items():
        if iid in passed:
            continue
        if ident.type == "human" and ident.credential is not None:
            yield Diagnostic(
                "invalid-value",
                f"identity '{iid}' is human; people's passwords are not kept in the vault",
                config.origin("identities", iid, "credential"),
                hint="remove 'credential', or make it a shared_credential identity",
            )
        if ident.type == "shared_credential" and credential_mode(ident) is None:
            yield Diagnostic(
                "missing-key",
                f"shared credential '{iid}' must say whether it is managed or external",
                config.origin("identities", iid),
                hint="add 'credential: {mode: managed}' (accesshive generates the password) or "
                "'credential: {mode: external, supplied_by: ${env:NAME}}'",
            )
            continue
        yield from _flow_sources(config, iid)


def _flow_sources(config: Config, iid: str) -> Iterator[Diagnostic]:
    ident = config.identities[iid]
    managed = is_managed_credential(ident)
    if ident.type != "human" and config.vault_for(ident) is None:
        many = len(config.sources_of_kind("vault")) > 1
        yield Diagnostic(
            "missing-source",
            f"identity '{iid}' needs a vault source to keep its credential",
            config.origin("identities", iid),
            hint="name it with credential.vault" if many else "declare a source of kind vault",
        )
    if managed and config.google_workspace is None:
        yield Diagnostic(
            "missing-source",
            f"managed shared credential '{iid}' needs a google_workspace source",
            config.origin("identities", iid),
            hint="declare the Google Workspace source, or make the credential external",
        )
    assignment = assign(config, ident)
    assigned = [*assignment.sources.items(), *((s, w) for (s, _), w in assignment.kinds.items())]
    for sid, why in sorted(assigned):
        source = config.sources.get(sid)
        if source is None:
            continue
        bad = _forbidden(ident.type, is_credential_only(ident), managed, source.kind)
        if bad:
            yield Diagnostic(
                "type-not-allowed",
                f"identity '{iid}' ({_type_label(config, iid)}) {bad} '{sid}' (assigned by {why})",
                config.origin("identities", iid),
                hint="remove that role, access profile or platform from the identity",
            )


def _forbidden(kind: str, credential_only: bool, managed: bool, source_kind: str) -> str | None:
    if kind == "human" and source_kind == "vault":
        return "cannot be stored in vault source"
    if credential_only and source_kind != "vault":
        return "is credential-only and never gets an account, but is assigned source"
    if managed and source_kind not in ("vault", "google_workspace"):
        return "is a managed shared credential: it lives in Google Workspace, not in source"
    return None


def _type_label(config: Config, iid: str) -> str:
    ident = config.identities[iid]
    mode = credential_mode(ident)
    return f"{ident.type}, {mode}" if ident.type == "shared_credential" else ident.type


CORRELATED_EMAIL = "email"
"""The identity attribute that sources correlate accounts on (``account.correlation``)."""


def check_unique_emails(config: Config) -> Iterator[Diagnostic]:
    """Two identities with one email (letter case aside) are refused. Sources correlate
    an account they hold with the identity whose email it has: with two, the account
    of one person would go to whichever identity sorts first (its access revoked as
    the other's, a second account created for its owner). Said at each of them, with
    the others' places: which one a change added, only the user knows."""
    holders: dict[str, list[str]] = {}
    for iid, ident in config.identities.items():
        value = ident.attributes.get(CORRELATED_EMAIL)
        if isinstance(value, str) and value.strip():
            holders.setdefault(value.strip().casefold(), []).append(iid)
    for email in sorted(k for k, ids in holders.items() if len(ids) > 1):
        ids = sorted(holders[email])
        at = {iid: config.origin("identities", iid, "attributes", CORRELATED_EMAIL) for iid in ids}
        for iid in ids:
            others = [o for o in ids if o != iid]
            named = ", ".join(f"'{o}'" for o in others)
            yield Diagnostic(
                "duplicate-value",
                f"identity '{iid}' has the same email as {named} ('{email}'): an account "
                "correlated on it would go to one of them, and the other's access with it",
                at[iid],
                hint="each person has one identity: give each its own email, or remove the "
                "one that is the same person again",
                related=tuple(at[o] for o in others),
            )
