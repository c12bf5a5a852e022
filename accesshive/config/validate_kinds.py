"""Checks of account kinds (``account.kinds`` on a source, ``account_kind`` on an
access profile): a profile may only grant to a kind its source declares, and two kinds
of one source must not name an identity's two accounts alike.

Why the name check: the account kinds of one identity are told apart on the target by
their name (and, where the connector records one, by their link). Two kinds whose name
templates are the same text render the same name for every identity: the second
"account" would be the first one, adopted twice. That is refused here, before any
plan; a clash only some identities' values produce is refused per identity by expand.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from accesshive.config.account_kinds import DEFAULT_KIND, telling_apart
from accesshive.config.config import Config
from accesshive.config.structure import suggest
from accesshive.diagnostics import Diagnostic


def check_profile_kinds(config: Config) -> Iterator[Diagnostic]:
    """An access profile grants to a kind of account its source declares."""
    for pid, profile in config.access_profiles.items():
        source = config.sources.get(profile.source)
        if source is None or profile.account_kind in source.account_kinds:
            continue  # an unknown source is reported by check_profile_and_role_references
        declared = source.account_kinds
        guess = suggest(profile.account_kind, declared)
        yield Diagnostic(
            "unknown-reference",
            f"access profile '{pid}' grants to account kind '{profile.account_kind}', "
            f"which source '{profile.source}' does not declare",
            config.origin("access_profiles", pid, "account_kind"),
            hint=f"did you mean '{guess}'?"
            if guess
            else f"declared: {', '.join(declared)}; declare it under "
            f"sources.{profile.source}.account.kinds",
        )


def check_source_kinds(config: Config) -> Iterator[Diagnostic]:
    """Each declared kind: not on a vault, not ``default``, attributes in the schema,
    templates that parse, and a name of its own."""
    from accesshive.config.validate import template_problems  # validate imports this module

    for sid, source in config.sources.items():
        kinds = source.account.kinds
        if not kinds:
            continue
        at = partial(config.origin, "sources", sid, "account")
        if source.kind == "vault":
            yield Diagnostic(
                "invalid-value",
                f"source '{sid}' is a vault: it holds credentials, not accounts of kinds",
                at("kinds"),
                hint="remove account.kinds from the vault source",
            )
            continue
        if DEFAULT_KIND in kinds:
            yield Diagnostic(
                "invalid-value",
                f"source '{sid}' declares account kind '{DEFAULT_KIND}', which is the "
                "source's own account",
                at("kinds", DEFAULT_KIND),
                hint="set the default account's templates under account.create and "
                "account.sync; name the other kinds (admin...)",
            )
        schema = source.account.schema_
        for kind, spec in sorted(kinds.items()):
            for part in ("create", "sync"):
                for attr, value in getattr(spec, part).items():
                    where = at("kinds", kind, part, attr)
                    if schema and attr not in schema:
                        guess = suggest(attr, schema)
                        yield Diagnostic(
                            "unknown-attribute",
                            f"attribute '{attr}' of account kind '{kind}' is not in the "
                            f"account schema of source '{sid}'",
                            where,
                            hint=f"did you mean '{guess}'?"
                            if guess
                            else "add it to account.schema",
                        )
                    yield from template_problems(config, value, where)
        yield from _names(config, sid)
        yield from _correlation(config, sid)


def _names(config: Config, sid: str) -> Iterator[Diagnostic]:
    """Two kinds whose name templates are the same text (spacing aside) would name an
    identity's two accounts alike."""
    source = config.sources[sid]
    at = partial(config.origin, "sources", sid, "account")
    attr = source.account.name_attribute
    if attr is None:
        yield Diagnostic(
            "missing-key",
            f"source '{sid}' declares account kinds but no account.name_attribute: the "
            "accounts of one identity could not be told apart by their names",
            at("kinds"),
            hint="set account.name_attribute (uid, userName...) and give each kind its "
            "own template for it",
        )
        return
    seen: dict[str, str] = {}
    for kind in source.account_kinds:
        template = source.kind_attributes(kind).get(attr)
        if template is None:
            continue  # reported by the name_attribute check of the source
        text = "".join(str(template).split())
        other = seen.setdefault(text, kind)
        if other == kind:
            continue
        own = attr in source.account.kinds[kind].create or attr in source.account.kinds[kind].sync
        yield Diagnostic(
            "ambiguous-account",
            f"account kinds '{other}' and '{kind}' of source '{sid}' render the same "
            f"{attr} ('{template}') for every identity: one identity's two accounts "
            "would be one account",
            at("kinds", kind, "create", attr) if own else at("kinds", kind),
            hint=f"give kind '{kind}' a {attr} of its own under "
            f"account.kinds.{kind}.create, e.g. '{template}-{kind}'"
            if not own
            else f"make the {attr} templates of '{other}' and '{kind}' differ",
        )


def _correlation(config: Config, sid: str) -> Iterator[Diagnostic]:
    """A kind that no correlation attribute tells apart from the identity's other accounts
    could never be found on the target but by its link: an existing account of that kind
    would be taken for the default one's duplicate, and its create would make another.
    The default account keeps matching as before kinds were declared (``plan/matching.py``:
    ``Matcher``); the other kinds need an attribute of their own to match by."""
    source = config.sources[sid]
    correlation = source.account.correlation
    if not correlation:
        return  # matched by link alone, on every kind alike: nothing to confuse
    name = source.account.name_attribute
    at = partial(config.origin, "sources", sid, "account")
    for kind, telling in sorted(telling_apart(source).items()):
        if kind == DEFAULT_KIND or telling:
            continue
        attrs = ", ".join(correlation)
        own_name = name is not None and all(
            _text(source.kind_attributes(kind).get(name))
            != _text(source.kind_attributes(other).get(name))
            for other in source.account_kinds
            if other != kind
        )
        yield Diagnostic(
            "ambiguous-account",
            f"account kind '{kind}' of source '{sid}' renders the same correlation "
            f"attributes ({attrs}) as another of the identity's accounts: its existing "
            "accounts could not be told apart from theirs",
            at("kinds", kind),
            hint=f"add {name} (which kind '{kind}' renders as its own) to "
            f"sources.{sid}.account.correlation, e.g. correlation: [{attrs}, {name}]"
            if own_name
            else f"give kind '{kind}' its own template for one of {attrs} under "
            f"sources.{sid}.account.kinds.{kind}.create, or add a correlation attribute "
            "it renders differently",
        )


def _text(template: object) -> str:
    return "".join(str(template).split())
