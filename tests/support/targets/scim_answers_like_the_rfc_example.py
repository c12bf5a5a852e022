"""The scim connector against scim2-server answering through the quirk proxy process
like RFC 7644 §3.4.3's example (no ``schemas``/``meta`` on ``GET /Users/{id}?attributes=``),
with capitalised attribute names, booleans as 1/0, digit strings as numbers and pages
capped at 2 whatever `count` asked
(see tests/support/scim_quirk_proxy.py for whose behaviour each is)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.targets import Target
from tests.support.targets.scim import scim_target

QUIRKS = (
    "rfc-3.4.3",
    "capitalised-names",
    "numeric-booleans",
    "numbers-for-strings",
    "count-capped",
)


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from scim_target(tmp_path, QUIRKS)
