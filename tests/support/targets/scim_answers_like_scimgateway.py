"""The scim connector against scim2-server answering through the quirk proxy process
like the providers of tests/support/scim_quirk_proxy.py: no ``schemas`` or ``meta``
anywhere, attribute names in lower case, capitalised ``type`` values, booleans and
ListResponse numbers as strings, vendor attributes and extensions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.targets import Target
from tests.support.targets.scim import scim_target

QUIRKS = ("no-schemas", "lowercase-names", "capitalised-types", "string-booleans", "vendor-extras")


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from scim_target(tmp_path, QUIRKS)
