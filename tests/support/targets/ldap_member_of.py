"""The ldap connector reading grants through the memberof overlay's ``memberOf`` back-link
(``member_of_attribute``), as a contract target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.targets import Target
from tests.support.targets.ldap import ldap_target


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from ldap_target(tmp_path, member_of_attribute="memberOf")
