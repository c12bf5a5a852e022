"""`accesshive schema`: each field's description is the docstring below it in the model.

Why a test of its own: the models no longer read their docstrings when they are imported
(pydantic's ``use_attribute_docstrings`` cost every command that loads a config); the
schema reads them itself, and an editor's hover text depends on it.
"""

from __future__ import annotations

from typing import Any

from accesshive.config.schema import json_schema


def _defs(target: str) -> dict[str, Any]:
    schema = json_schema(target)  # type: ignore[arg-type]
    return {"<root>": schema, **schema["$defs"]}


def test_a_fields_docstring_is_its_description() -> None:
    profile = _defs("config")["AccessProfile"]["properties"]
    assert profile["account_kind"]["description"].startswith(
        "The kind of account on the source the entitlements are granted to (see the source's\n"
        "account.kinds)"
    )
    # a field without a docstring has no description
    assert "description" not in profile["source"]


def test_a_field_of_the_project_file_and_its_inherited_fields() -> None:
    project = _defs("project")["<root>"]["properties"]
    include = project["include"]["description"]
    assert include == "Glob patterns of config files, relative to the root."
    # declared in ConfigDocument without a docstring: none in the project's schema either
    assert "description" not in project["sources"]


def test_a_policy_fields_docstring_is_its_description() -> None:
    described = [
        (name, prop["description"])
        for model in _defs("policy").values()
        for name, prop in model.get("properties", {}).items()
        if "description" in prop
    ]
    assert described, "no field of the policy schema has a description"
