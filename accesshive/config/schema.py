"""JSON Schema of the config files, for editors (YAML language server) and CI checks.

Each field's description is the docstring below it in the model's source (``Documented``):
read here, when a schema is made, rather than by pydantic on every import of the models
(``use_attribute_docstrings``), which would cost every command that loads a config.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import textwrap
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from accesshive.config.documents import ConfigDocument, ProjectDocument
from accesshive.config.policy import PolicyDocument

SchemaTarget = Literal["config", "project", "policy"]

_MODELS: dict[str, tuple[type[BaseModel], str]] = {
    "project": (ProjectDocument, "accesshive.yaml: the root of a config repository"),
    "config": (ConfigDocument, "a config file: sources, identities, access, lifecycle states"),
    "policy": (PolicyDocument, "a file in policies/: classification, review, guardrails"),
}


def json_schema(target: SchemaTarget) -> dict[str, Any]:
    model, title = _MODELS[target]
    schema = model.model_json_schema(by_alias=True, mode="validation", schema_generator=Documented)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://accesshive.dev/schema/v1/{target}.json"
    schema["title"] = f"accesshive {title}"
    return schema


class Documented(GenerateJsonSchema):
    """Pydantic's JSON Schema, each field without a ``description`` given the docstring
    that follows it in the class that declares it (as ``use_attribute_docstrings`` did)."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        properties = json_schema.get("properties")
        if not isinstance(properties, dict):
            return json_schema
        cls = schema["cls"]
        for name, field in cls.model_fields.items():
            key = field.alias or name
            doc = field_docstrings(_declaring(cls, name)).get(name)
            if field.description is None and doc and key in properties:
                properties[key] = {**properties[key], "description": doc}
        return json_schema


def _declaring(cls: type[BaseModel], name: str) -> type:
    """The class of ``cls``'s MRO whose body annotates field ``name``: its docstring is
    that field's (a subclass that declares the field again without one has none)."""
    for klass in cls.__mro__:
        if name in inspect.get_annotations(klass):
            return klass
    return cls


@functools.cache
def field_docstrings(cls: type) -> dict[str, str]:
    """Field name → the string literal right below its annotation in ``cls``'s own body."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    body = ast.parse(textwrap.dedent(source)).body
    if not body or not isinstance(body[0], ast.ClassDef):
        return {}
    docs: dict[str, str] = {}
    statements = body[0].body
    for before, after in itertools.pairwise(statements):
        if (
            isinstance(before, ast.AnnAssign)
            and isinstance(before.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[before.target.id] = inspect.cleandoc(after.value.value)
    return docs
