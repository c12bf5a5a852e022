"""scim2-models and scim2-client as the ``scim`` connector loads them: without pydantic's
attribute-docstring extraction.

Why: scim2-models configures its models with pydantic's ``use_attribute_docstrings``,
so each model class pydantic builds (scim2-models' own, the generic ones scim2-client
parametrises when it is imported, ``ListResponse[...]`` and the like, and ours,
``PatchOp[User]``) has its source looked up: pydantic walks the call stack and, for
each frame, asks ``inspect.getmodule``, which scans ``sys.modules`` whenever it meets a
file it has not mapped yet. In a process that has already imported accesshive's CLI and
store, that was nearly all of the connector's import: 2.1 s of CPU, 0.35 s without it
(on the 2-core bench machine), paid by every ``sync`` and ``apply`` of a SCIM source.

The docstrings only ever become field descriptions in JSON schemas, which the connector
never produces; validation and serialisation are unchanged. Two steps:

- while the two libraries are imported, pydantic's extraction hook is a no-op. That
  hook is private (``pydantic._internal._fields``): when a pydantic release renames it,
  nothing is patched and the import is merely as slow as before;
- afterwards ``model_config["use_attribute_docstrings"]`` (the models' public
  configuration) is off on every scim2-models class, so the models built from them
  later skip the extraction too.

The package imports this module first, before anything else imports scim2-client.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def _no_docstring_extraction() -> Iterator[None]:
    fields: Any = importlib.import_module("pydantic._internal._fields")
    hook = getattr(fields, "_update_fields_from_docstrings", None)
    if hook is None:  # another pydantic: import as it is, only slower
        yield
        return
    fields._update_fields_from_docstrings = lambda *args, **kwargs: None
    try:
        yield
    finally:
        fields._update_fields_from_docstrings = hook


with _no_docstring_extraction():
    import scim2_client.client  # noqa: F401  (its generic models are built at import)
    from scim2_models.base import BaseModel


def without_attribute_docstrings(root: type[BaseModel]) -> None:
    """``use_attribute_docstrings`` off on ``root`` and every model class below it."""
    todo: list[type[BaseModel]] = [root]
    while todo:
        cls = todo.pop()
        cls.model_config["use_attribute_docstrings"] = False
        todo.extend(cls.__subclasses__())


without_attribute_docstrings(BaseModel)
