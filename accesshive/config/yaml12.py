"""YAML 1.2 core schema on libyaml (PyYAML's ``CSafeLoader``): the fast path of reading a
config file.

Why: a cold plan of a large org spends about half its time parsing YAML, and PyYAML's C
loader is about 1.5 times as fast as ruamel.yaml's (whose libyaml is an older fork).
But PyYAML resolves plain scalars as YAML 1.1 (``yes``/``on``/``no`` become booleans,
``0777`` octal, ``1:30`` sexagesimal), and it lets a mapping repeat a key. Here the
resolvers are ruamel.yaml's YAML 1.2 ones (copied, in ruamel.yaml's order), scalars
are built the way ruamel.yaml's safe constructor builds them, and anything this loader
does not read exactly as ruamel.yaml would (a repeated key, a merge key ``<<``, an
explicit tag, a ``%YAML`` directive, any error) raises ``Fallback``: the caller then
reads the file with ruamel.yaml, which gives today's result and diagnostics.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml
from ruamel.yaml.util import create_timestamp, timestamp_regexp

MERGE = "tag:yaml.org,2002:merge"


class Fallback(Exception):
    """Read this text with ruamel.yaml instead: it holds something only it reads right."""


class Core12Loader(yaml.CSafeLoader):
    """libyaml's parser and composer, with YAML 1.2 core resolvers and constructors."""

    # PyYAML's registries are class attributes: start from none of PyYAML's (YAML 1.1)
    yaml_implicit_resolvers: dict[Any, Any] = {}
    yaml_constructors: ClassVar[dict[Any, Any]] = {}
    yaml_multi_constructors: ClassVar[dict[Any, Any]] = {}

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """PyYAML keeps the last of two equal keys; ruamel.yaml refuses them, with both
        positions: leave that (and merge keys, ordered differently) to ruamel.yaml."""
        if not isinstance(node, yaml.MappingNode):
            raise Fallback
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE:
                raise Fallback
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise Fallback
                seen.add(key)
            except TypeError:  # an unhashable key
                raise Fallback from None
        return super().construct_mapping(node, deep)


_RESOLVERS: tuple[tuple[str, str, list[str]], ...] = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    (
        "tag:yaml.org,2002:float",
        r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        list("-+0123456789."),
    ),
    (
        "tag:yaml.org,2002:int",
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""",
        list("-+0123456789"),
    ),
    (MERGE, r"^(?:<<)$", ["<"]),
    ("tag:yaml.org,2002:null", r"^(?: ~ |null|Null|NULL | )$", ["~", "n", "N", ""]),
    (
        "tag:yaml.org,2002:timestamp",
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        list("0123456789"),
    ),
    ("tag:yaml.org,2002:value", r"^(?:=)$", ["="]),
)
for _tag, _pattern, _first in _RESOLVERS:
    Core12Loader.add_implicit_resolver(_tag, re.compile(_pattern, re.X), _first)


def _bool(loader: Core12Loader, node: Any) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


def _int(loader: Core12Loader, node: Any) -> int:
    """ruamel.yaml's YAML 1.2 reading: ``0777`` is 777, ``0o17`` 15, ``1_000`` 1000."""
    value = str(loader.construct_scalar(node)).replace("_", "")
    if not value.lstrip("+-"):
        raise Fallback
    sign = -1 if value[0] == "-" else 1
    if value[0] in "+-":
        value = value[1:]
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if value.startswith(prefix):
            return sign * int(value[2:], base)
    return sign * int(value)


def _float(loader: Core12Loader, node: Any) -> float:
    value = str(loader.construct_scalar(node)).replace("_", "").lower()
    sign = -1 if value[0] == "-" else 1
    if value[0] in "+-":
        value = value[1:]
    if value == ".inf":
        return sign * float("inf")
    if value == ".nan":
        return float("nan")
    return sign * float(value)


def _timestamp(loader: Core12Loader, node: Any) -> Any:
    match = timestamp_regexp.match(str(loader.construct_scalar(node)))
    if match is None:
        raise Fallback
    return create_timestamp(**match.groupdict())


def _other(loader: Core12Loader, node: Any) -> Any:
    raise Fallback  # an explicit tag (!!binary, !!set, !custom ...) or ``=``


_SAFE = yaml.constructor.SafeConstructor
for _tag, _build in (
    ("tag:yaml.org,2002:null", _SAFE.construct_yaml_null),
    ("tag:yaml.org,2002:bool", _bool),
    ("tag:yaml.org,2002:int", _int),
    ("tag:yaml.org,2002:float", _float),
    ("tag:yaml.org,2002:timestamp", _timestamp),
    ("tag:yaml.org,2002:str", _SAFE.construct_yaml_str),
    ("tag:yaml.org,2002:seq", _SAFE.construct_yaml_seq),
    ("tag:yaml.org,2002:map", _SAFE.construct_yaml_map),
):
    Core12Loader.add_constructor(_tag, _build)
Core12Loader.add_constructor(None, _other)


def load(text: str) -> Any:
    """The one document of ``text`` as plain data, or ``Fallback``."""
    if "%YAML" in text or "%TAG" in text:
        raise Fallback  # a directive may ask for YAML 1.1: ruamel.yaml honours it
    loader = Core12Loader(text)
    try:
        return loader.get_single_data()
    except Fallback:
        raise
    except Exception as exc:  # any error: ruamel.yaml reports it, with its position
        raise Fallback from exc
    finally:
        loader.dispose()
