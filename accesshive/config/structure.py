"""Turning pydantic validation errors into diagnostics a person can act on.

Why: pydantic says ``extra_forbidden`` at ``('identities', 'jdoe', 'rolse')``;
a user needs "unknown key 'rolse' in identities.jdoe; did you mean 'roles'?"
at the right line.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from accesshive.diagnostics import Diagnostic, Location, YamlPath


def describe(path: YamlPath) -> str:
    """``('identities', 'jdoe', 'roles', 1)`` → ``identities.jdoe.roles[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "the document"


def suggest(word: str, candidates: typing.Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.75)
    return matches[0] if matches else None


def close_matches(word: str, candidates: typing.Iterable[str], n: int = 3) -> list[str]:
    """What a user who typed ``word`` for a name probably meant, best first: names with a
    dot-, dash- or underscore-separated part starting with it (``ada`` →
    ``ada.lovelace``), then spelling neighbours of the whole name or of a part
    (``hoper`` → ``grace.hopper``). Looser than ``suggest`` (used where the
    name is typed on a command line, not written in a file): a short word finds the
    names it abbreviates."""
    names = sorted(set(candidates))
    folded = word.casefold()
    split = {name: [p for p in re.split(r"[._@-]", name.casefold()) if p] for name in names}
    parts = [n for n in names if folded and any(p.startswith(folded) for p in split[n])]
    spelled = difflib.get_close_matches(word, names, n=n, cutoff=0.6)
    part_spelled = [
        n for n in names if any(difflib.get_close_matches(folded, split[n], n=1, cutoff=0.75))
    ]
    out: list[str] = []
    for name in (*parts, *spelled, *part_spelled):
        if name not in out and name != word:
            out.append(name)
    return out[:n]


def naming(what: str, word: str, candidates: typing.Iterable[str]) -> str:
    """``no identity 'ada'; did you mean 'ada.lovelace'?``, or, with nothing close, the
    names there are (a few): the one line a command prints for a name it does not know."""
    names = sorted(set(candidates))
    near = close_matches(word, names)
    if near:
        return f"no {what} '{word}'; did you mean " + " or ".join(f"'{m}'" for m in near) + "?"
    if not names:
        return f"no {what} '{word}': there are none"
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"no {what} '{word}' (there are: {shown})"


def from_validation_error(
    exc: ValidationError, file: str, model: type[BaseModel], base: YamlPath = ()
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        loc: YamlPath = tuple(err["loc"])
        out.append(_one(err, loc, file, model, base))
    return out


def _one(err: Any, loc: YamlPath, file: str, model: type[BaseModel], base: YamlPath) -> Diagnostic:
    kind = err["type"]
    if "[key]" in loc:
        cut = loc.index("[key]")
        bad = err.get("input")
        where = Location(file, (*base, *loc[:cut]))
        return Diagnostic(
            "invalid-id",
            f"'{bad}' in {describe((*base, *loc[: cut - 1]))} is not a valid id",
            where,
            hint="ids start with a letter or digit and use only letters, digits, . _ @ -",
        )
    where = Location(file, (*base, *loc))
    if kind == "extra_forbidden":
        key = str(loc[-1])
        parent = describe((*base, *loc[:-1]))
        allowed = fields_at(model, loc[:-1])
        guess = suggest(key, allowed)
        hint = f"did you mean '{guess}'?" if guess else None
        if hint is None and allowed:
            hint = "allowed keys: " + ", ".join(sorted(allowed))
        return Diagnostic("unknown-key", f"unknown key '{key}' in {parent}", where, hint=hint)
    if kind == "missing":
        parent = describe((*base, *loc[:-1]))
        return Diagnostic(
            "missing-key",
            f"{parent} needs the key '{loc[-1]}'",
            Location(file, (*base, *loc[:-1])),
            hint=f"add '{loc[-1]}:' here",
        )
    msg = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    # a check of a whole mapping (two reviewers, one key) says itself what is wrong
    whole = kind == "value_error" and isinstance(value, dict | list)
    got = "" if whole else _show(value)
    return Diagnostic(
        "wrong-type" if kind.endswith("_type") or kind.startswith("literal") else "invalid-value",
        f"{describe((*base, *loc))}: {msg[0].lower()}{msg[1:]}{got}",
        where,
        hint=_type_hint(kind, err.get("input")) if kind.endswith("_type") else None,
    )


YAML_11_BOOLEANS = frozenset({"yes", "no", "on", "off", "y", "n"})


def _type_hint(kind: str, value: Any) -> str:
    """What to write instead: files are read as YAML 1.2, where ``yes``/``on`` are text
    (YAML 1.1, and many other tools, read them as booleans)."""
    if kind == "bool_type" and isinstance(value, str) and value.lower() in YAML_11_BOOLEANS:
        return f"write true or false: files are read as YAML 1.2, where '{value}' is text"
    return "quote it if it is text; remove the quotes if it is a number or boolean"


def _show(value: Any) -> str:
    if isinstance(value, dict | list) or value is None:
        kind = "a mapping" if isinstance(value, dict) else "a list" if value is not None else None
        return f" (got {kind or 'nothing'})"
    text = repr(value)
    return f" (got {text if len(text) <= 60 else text[:57] + '...'})"


def fields_at(model: type[BaseModel], path: YamlPath) -> list[str]:
    """The keys allowed in the mapping at ``path`` inside ``model``, for suggestions."""
    annotation: Any = model
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = _field(annotation, str(part))
            if field is None:
                return []
            annotation = field
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        elif typing.get_origin(annotation) is list:
            annotation = typing.get_args(annotation)[0]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or name for name, f in annotation.model_fields.items()]
    return []


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated to the model, dict or list inside."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation
