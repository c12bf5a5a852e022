"""Writing and reading saved plans.

The file is the plan's canonical body plus ``plan_digest``, pretty-printed with
sorted keys (reviewable in a pull request, byte-identical for the same inputs).
Reading rebuilds the ``Plan`` and recomputes its digest: a file edited after
it was written, or written by a newer format, is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from accesshive import jsontext
from accesshive.errors import PlanFileError
from accesshive.plan.diff import Adoption, Orphan
from accesshive.plan.model import FORMAT_VERSION, Plan
from accesshive.plan.orders import Change, Gate, Order


def dumps(plan: Plan) -> str:
    """The plan file's text: ``json.dumps(indent=2, sort_keys=True, ensure_ascii=False)``
    plus a newline, byte for byte (``jsontext.pretty`` writes it ten times faster)."""
    return jsontext.pretty({**plan.body(), "plan_digest": plan.digest}, plan.plain)


def write_plan(plan: Plan, path: Path, text: str | None = None) -> None:
    """Write the plan file atomically; ``text``: ``dumps(plan)`` when the caller has it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text if text is not None else dumps(plan), encoding="utf-8")
    tmp.replace(path)


def read_plan(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanFileError(f"cannot read plan {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"{path} is not a plan file (not JSON: {exc})") from exc
    except (ValueError, RecursionError) as exc:  # a number past int()'s limit; deep nesting
        raise PlanFileError(f"{path} is not a plan file (unreadable JSON: {exc})") from exc
    return from_json(data, str(path))


def from_json(data: Any, name: str) -> Plan:
    if not isinstance(data, dict) or "plan_digest" not in data:
        raise PlanFileError(f"{name} is not an accesshive plan (no plan_digest)")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        small = isinstance(version, int) and abs(version) < 10**12  # repr() of a huge int fails
        shown = version if small or (isinstance(version, str) and len(version) < 40) else "?"
        raise PlanFileError(
            f"{name} has plan format {shown}; this accesshive reads format {FORMAT_VERSION}"
            " — plan again with this version"
        )
    try:
        plan = _rebuild(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"{name} is malformed ({_brief(exc)}); plan again") from exc
    if plan.digest != data["plan_digest"]:
        raise PlanFileError(
            f"{name} was modified after it was written: its content does not match its "
            f"plan_digest {str(data['plan_digest'])[:12]}; plan again instead of editing it"
        )
    return plan


def _brief(exc: Exception) -> str:
    text = repr(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def _rebuild(data: dict[str, Any]) -> Plan:
    orders = tuple(_order(o) for o in data["orders"])
    return Plan(
        project=data["project"],
        tool_version=data["tool_version"],
        config_digest=data["config_digest"],
        fingerprints=dict(data["snapshot_fingerprints"]),
        orders=orders,
        orphans=tuple(Orphan(**x) for x in data["orphans"]),
        adoptions=tuple(Adoption(**x) for x in data["adoptions"]),
        warnings=tuple(data["warnings"]),
        allow_mass_changes=bool(data["options"]["allow_mass_changes"]),
        identities=dict(data["identities"]),
        author=data.get("author"),
        scope=None if data.get("scope") is None else tuple(data["scope"]),
    )


def _order(o: dict[str, Any]) -> Order:
    change = Change(
        action=o["action"],
        source=o["source"],
        identity=o["identity"],
        account=o["account"],
        name=o["name"],
        entitlement=o["entitlement"],
        attributes=o["attributes"],
        details=o["details"],
        sensitive=o["sensitive"],
    )
    gate = o["gate"]
    return Order(
        id=o["id"],
        kind=o["kind"],
        change=change,
        depends_on=tuple(o["depends_on"]),
        gate=Gate(tuple(gate["rules"]), tuple(gate["reviewer_groups"]), gate["quorum"])
        if gate
        else None,
        assignee=o["assignee"],
    )
