"""The meaning digest of a YAML file's data: what a plan's config digest is made of, so
that comments, key order, quoting and layout do not invalidate a saved plan.

Why a module of its own: on a cold plan of a large org this is computed over every
identity of every file, and was a third of the time spent reading the YAML; the walk is
written for speed here (``_canonical``), and its result must never change: saved plans
are bound to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from json.encoder import encode_basestring
from typing import Any

from accesshive import jsontext


def meaning_digest(data: Any) -> str:
    """SHA-256 of YAML data in a canonical form: mappings sorted by key, every scalar
    tagged with its type (``1``, ``1.0``, ``"1"`` and ``true`` stay four meanings).

    The canonical form holds only lists, tuples, strings, booleans and None
    (``_canonical``), so ``jsontext`` writes it (``json.dumps``'s bytes) without looking
    at it first."""
    text = jsontext.canonical(_canonical(data), plain=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sort_key(key: Any) -> str:
    """How a mapping's entries are ordered, by their canonical key: its
    ``json.dumps(key, ensure_ascii=False)``, as the digest was always defined (for a
    string, that is ``encode_basestring``)."""
    if isinstance(key, str):
        return encode_basestring(key)
    return json.dumps(key, ensure_ascii=False)


def _canonical(value: Any) -> Any:
    """``value`` with each mapping as ``["map", [(key, value)...]]`` sorted by
    ``_sort_key``, each sequence as ``["seq", [...]]`` and each scalar but a string, a
    boolean and None as ``[type, text]``.

    The common case is spelled out for speed: a string is returned at once (most values
    are), and a mapping whose keys are all strings has its keys sorted by their
    ``encode_basestring`` (a C function as the sort key) rather than its entries by a
    Python key function."""
    kind = type(value)
    if kind is str:
        return value
    if kind is dict or isinstance(value, dict):
        try:
            keys = sorted(value, key=encode_basestring)  # every key a string
        except TypeError:
            items = [(_canonical(k), _canonical(v)) for k, v in value.items()]
            return ["map", sorted(items, key=lambda item: _sort_key(item[0]))]
        return [
            "map",
            [(k, v if type(v) is str else _canonical(v)) for k in keys for v in (value[k],)],
        ]
    if kind is list or isinstance(value, list | tuple):
        return ["seq", [v if type(v) is str else _canonical(v) for v in value]]
    if kind is bool or value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, dt.datetime | dt.date):
        return [type(value).__name__, value.isoformat()]
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    return [type(value).__name__, repr(value)]
