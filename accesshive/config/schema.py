"""JSON Schema of the config files, for editors (YAML language server) and CI checks."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

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
    schema = model.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://accesshive.dev/schema/v1/{target}.json"
    schema["title"] = f"accesshive {title}"
    return schema
