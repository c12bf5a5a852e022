"""Writing and reading saved plans.

The file is the plan's canonical body plus ``plan_digest``, pretty-printed with
sorted keys (reviewable in a pull request, byte-identical for the same inputs).
Reading rebuilds the ``Plan`` and recomputes its digest: a file edited after
it was written, or written by a newer format, is refused. Every refusal of a file that
must be made again (not JSON, not a plan, malformed, edited, another format) says "plan
again": the CLI ends it with the command that does (``cli/_plan_files.py``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from accesshive import jsontext
from accesshive.errors import PlanFileError
from accesshive.plan.changes import Adoption, Orphan
from accesshive.plan.kinds import ACTIONS, OrderKind
from accesshive.plan.model import FORMAT_VERSION, Plan, PolicyChange
from accesshive.plan.orders import Change, Gate, Need, Order


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
        # a half-downloaded artefact, or another file: made again by planning again
        raise PlanFileError(f"{path} is not a plan file (not JSON: {exc}); plan again") from exc
    except (ValueError, RecursionError) as exc:  # a number past int()'s limit; deep nesting
        raise PlanFileError(
            f"{path} is not a plan file (unreadable JSON: {exc}); plan again"
        ) from exc
    return from_json(data, str(path))


def from_json(data: Any, name: str) -> Plan:
    if not isinstance(data, dict) or "plan_digest" not in data:
        raise PlanFileError(f"{name} is not an accesshive plan (no plan_digest); plan again")
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
    except _Malformed as exc:
        raise PlanFileError(f"{name} is malformed: {exc}; plan again") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"{name} is malformed ({_brief(exc)}); plan again") from exc
    if plan.digest != data["plan_digest"]:
        raise PlanFileError(
            f"{name} was modified after it was written: its content does not match its "
            f"plan_digest {str(data['plan_digest'])[:12]}; plan again instead of editing it"
        )
    return plan


def _brief(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


class _Malformed(Exception):
    """What is wrong with a plan file's content, in words: which field, what it holds,
    what was expected (never a Python exception's repr)."""


_WORDS: dict[type, str] = {
    list: "a list",
    dict: "an object",
    str: "a string",
    int: "a number",
    bool: "true or false",
    type(None): "null",
}


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, float):
        return "a number"
    return _WORDS.get(type(value), type(value).__name__)


def _field(data: Any, key: str, where: str, *expected: type, optional: bool = False) -> Any:
    """``data[key]``, checked to be one of ``expected`` (``optional``: absent is None)."""
    at = f"{where}.{key}" if where else key
    if not isinstance(data, dict):
        raise _Malformed(f"{where or 'the plan'} is {_what(data)}, expected an object")
    if key not in data:
        if optional:
            return None
        raise _Malformed(f"'{at}' is missing")
    value = data[key]
    if optional and value is None:
        return None
    if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
        wanted = " or ".join(_WORDS[t] for t in expected)
        raise _Malformed(f"'{at}' is {_what(value)}, expected {wanted}")
    return value


def _strings(data: Any, key: str, where: str, optional: bool = False) -> tuple[str, ...] | None:
    items = _field(data, key, where, list, optional=optional)
    if items is None:
        return None
    at = f"{where}.{key}" if where else key
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise _Malformed(f"'{at}[{i}]' is {_what(item)}, expected a string")
    return tuple(items)


def _records(data: dict[str, Any], key: str, cls: type[Any]) -> tuple[Any, ...]:
    """Orphans and adoptions: objects holding exactly their dataclass's fields."""
    names = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING}
    built = []
    for i, item in enumerate(_field(data, key, "", list)):
        at = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise _Malformed(f"'{at}' is {_what(item)}, expected an object")
        unknown, missing = sorted(set(item) - names), sorted(required - set(item))
        if unknown or missing:
            wrong = f"has unknown field(s) {', '.join(unknown)}" if unknown else ""
            wrong += "; " if unknown and missing else ""
            wrong += f"lacks {', '.join(missing)}" if missing else ""
            raise _Malformed(f"'{at}' {wrong}")
        built.append(cls(**item))
    return tuple(built)


def _rebuild(data: dict[str, Any]) -> Plan:
    orders = tuple(
        _order(o, f"orders[{i}]") for i, o in enumerate(_field(data, "orders", "", list))
    )
    options = _field(data, "options", "", dict)
    return Plan(
        project=_field(data, "project", "", str),
        tool_version=_field(data, "tool_version", "", str),
        config_digest=_field(data, "config_digest", "", str),
        fingerprints=dict(_field(data, "snapshot_fingerprints", "", dict)),
        orders=orders,
        orphans=_records(data, "orphans", Orphan),
        adoptions=_records(data, "adoptions", Adoption),
        warnings=_strings(data, "warnings", "") or (),
        allow_mass_changes=bool(_field(options, "allow_mass_changes", "options", bool)),
        identities=dict(_field(data, "identities", "", dict)),
        author=_field(data, "author", "", str, optional=True),
        scope=_strings(data, "scope", "", optional=True),
        planned_on=_day(data),
        environment=_field(data, "environment", "", str, optional=True),
        after_run=_field(data, "after_run", "", int, optional=True),
        policy_change=_policy_change(_field(data, "policy_change", "", dict, optional=True)),
    )


def _policy_change(data: dict[str, Any] | None) -> PolicyChange | None:
    if data is None:
        return None
    return PolicyChange(
        _field(data, "in_force", "policy_change", str),
        _field(data, "proposed", "policy_change", str),
        _strings(data, "loosens", "policy_change") or (),
        _gate(_field(data, "gate", "policy_change", dict), "policy_change.gate"),
    )


def _day(data: dict[str, Any]) -> str | None:
    day: str | None = _field(data, "planned_on", "", str, optional=True)
    if day is not None:
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            raise _Malformed(
                f"'planned_on' is '{day[:40]}', expected a date (YYYY-MM-DD)"
            ) from None
    return day


def _order(o: Any, where: str) -> Order:
    if not isinstance(o, dict):
        raise _Malformed(f"'{where}' is {_what(o)}, expected an object")
    oid = _field(o, "id", where, str)
    action = _field(o, "action", where, str)
    if action not in ACTIONS:
        raise _Malformed(
            f"'{where}.action' (order {oid[:12]}) is '{action[:40]}', expected one of "
            f"{', '.join(sorted(ACTIONS))}"
        )
    kind = _field(o, "kind", where, str)
    if kind not in (action, OrderKind.MANUAL_TASK):
        raise _Malformed(
            f"'{where}.kind' (order {oid[:12]}) is '{kind[:40]}', expected its action "
            f"'{action}' or '{OrderKind.MANUAL_TASK}'"
        )
    change = Change(
        action=action,
        source=_field(o, "source", where, str),
        identity=_field(o, "identity", where, str, optional=True),
        account=_field(o, "account", where, str, optional=True),
        name=_field(o, "name", where, str, optional=True),
        entitlement=_field(o, "entitlement", where, str, optional=True),
        attributes=_field(o, "attributes", where, dict),
        details=_field(o, "details", where, dict),
        sensitive=_field(o, "sensitive", where, bool),
    )
    gate = _field(o, "gate", where, dict, optional=True)
    return Order(
        id=oid,
        kind=kind,
        change=change,
        depends_on=_strings(o, "depends_on", where) or (),
        gate=_gate(gate, f"{where}.gate") if gate else None,
        assignee=_field(o, "assignee", where, str, optional=True),
    )


def _gate(gate: Any, where: str) -> Gate:
    needs = _field(gate, "requires", where, list, optional=True) or []
    return Gate(
        _strings(gate, "rules", where) or (),
        _strings(gate, "reviewer_groups", where) or (),
        _field(gate, "quorum", where, int),
        tuple(
            Need(
                _strings(n, "groups", f"{where}.requires[{i}]") or (),
                _field(n, "quorum", f"{where}.requires[{i}]", int),
            )
            for i, n in enumerate(needs)
        ),
    )
