"""``${file:PATH}`` secrets: read at connect time, refused when others can read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from accesshive.connectors.references import resolve
from accesshive.errors import ConnectorError

SECRET = "s3cr3t-token-value"


def _secret(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "secrets" / "token.txt"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    path.chmod(mode)
    return path


def test_a_file_only_its_owner_reads_is_used(tmp_path: Path) -> None:
    _secret(tmp_path, 0o600)
    assert resolve("${file:secrets/token.txt}", "crm", tmp_path, {}) == SECRET
    assert resolve("${file:secrets/token.txt}", "crm", tmp_path, {}) == SECRET


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_file_its_group_or_others_can_read_or_write_is_refused(tmp_path: Path, mode: int) -> None:
    path = _secret(tmp_path, mode)
    with pytest.raises(ConnectorError) as caught:
        resolve("${file:secrets/token.txt}", "crm", tmp_path, {})
    message = caught.value.message
    assert f"the secret file {path}" in message and f"mode {mode:04o}" in message
    assert f"`chmod 600 {path}`" in message
    assert SECRET not in str(caught.value)
    assert (path.stat().st_mode & 0o777) == mode  # never changed behind the user's back


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match=r"cannot read .*nothing\.txt \(No such file"):
        resolve("${file:nothing.txt}", "crm", tmp_path, {})
