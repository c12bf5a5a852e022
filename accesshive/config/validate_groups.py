"""Checks of managed entitlements (``managed: true``): groups accesshive creates, renames
and deletes itself.

Why they are refused at load rather than at apply: a managed group on a source whose
connector cannot create groups, two managed groups with one name (each rename would
fight the other), or an access profile still granting a group declared ``absent``
would otherwise fail half-way through a run, after other orders were sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from accesshive.config.config import Config
from accesshive.diagnostics import Diagnostic

GROUP_SOURCE_KINDS = frozenset({"scim", "ldap", "google_workspace"})
"""The source kinds whose connectors create, rename and delete groups."""


def check_managed_groups(config: Config) -> Iterator[Diagnostic]:
    for sid, source in sorted(config.sources.items()):
        names: dict[str, str] = {}
        for eid, spec in sorted(source.entitlements.items()):
            if not spec.managed:
                for key in ("name", "state"):
                    if key in spec.model_fields_set:
                        yield Diagnostic(
                            "invalid-value",
                            f"entitlement '{eid}' of source '{sid}' sets '{key}', which "
                            "only a managed group has",
                            config.origin("sources", sid, "entitlements", eid, key),
                            hint="add 'managed: true' (accesshive then creates, renames and "
                            f"deletes the group), or remove '{key}'",
                        )
                continue
            if source.kind not in GROUP_SOURCE_KINDS or spec.type != "group":
                what = f"kind {source.kind}" if spec.type == "group" else f"type {spec.type}"
                yield Diagnostic(
                    "invalid-value",
                    f"entitlement '{eid}' of source '{sid}' is managed, but accesshive "
                    f"creates groups only on scim, ldap and google_workspace sources ({what})",
                    config.origin("sources", sid, "entitlements", eid, "managed"),
                    hint="remove 'managed: true' and create the group on the target",
                )
                continue
            if source.kind == "ldap" and (problem := _ldap_cannot_create(source.connection)):
                yield Diagnostic(
                    "invalid-value",
                    f"entitlement '{eid}' of source '{sid}' is managed, but {problem[0]}",
                    config.origin("sources", sid, "entitlements", eid, "managed"),
                    hint=problem[1],
                )
            name = spec.target_name(eid).casefold()
            if name in names:
                yield Diagnostic(
                    "duplicate-name",
                    f"managed entitlements '{names[name]}' and '{eid}' of source '{sid}' "
                    f"both name the group '{spec.target_name(eid)}'",
                    config.origin("sources", sid, "entitlements", eid),
                    related=(config.origin("sources", sid, "entitlements", names[name]),),
                    hint="give each managed group its own name",
                )
            names.setdefault(name, eid)
    yield from _absent_still_granted(config)


def _ldap_cannot_create(connection: dict[str, Any]) -> tuple[str, str] | None:
    """Why the LDAP connector could not create a group of this source, and what to do,
    if it could not: a groupOfNames must have a member before accesshive adds any (the
    placeholder), and a posixGroup needs a gidNumber accesshive does not allocate."""
    declared = str(connection.get("group_object_class") or "groupOfNames")
    elsewhere = "remove 'managed: true' and create the group on the directory"
    if declared.lower() == "posixgroup":
        return "a posixGroup needs a gidNumber, which accesshive does not allocate", elsewhere
    if declared.lower() in ("groupofnames", "groupofuniquenames") and not connection.get(
        "empty_group_member"
    ):
        return (
            f"a {declared} must have a member from the start and "
            "connection.empty_group_member (the placeholder it is created with) is not set",
            f"set connection.empty_group_member to a placeholder DN, or {elsewhere}",
        )
    return None


def _absent_still_granted(config: Config) -> Iterator[Diagnostic]:
    for pid, profile in sorted(config.access_profiles.items()):
        source = config.sources.get(profile.source)
        if source is None:
            continue  # the reference checks report it
        for i, eid in enumerate(profile.entitlements):
            spec = source.entitlements.get(eid)
            if spec is not None and spec.managed and spec.state == "absent":
                yield Diagnostic(
                    "invalid-reference",
                    f"access profile '{pid}' grants '{eid}', whose group on source "
                    f"'{profile.source}' is declared absent (to be deleted)",
                    config.origin("access_profiles", pid, "entitlements", i),
                    related=(config.origin("sources", profile.source, "entitlements", eid),),
                    hint=f"remove '{eid}' from the access profile, or set its state to present",
                )
