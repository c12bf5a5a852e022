"""What the plan says changed in the review policies in force, and how two gates merge
(``policies_in_force``, ``plan.gates.merged``): pure, no store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from accesshive.config import load_config
from accesshive.errors import StoreError
from accesshive.plan.gates import merged
from accesshive.plan.orders import Gate, Need
from accesshive.policies_in_force import PoliciesInForce, changes, differing
from tests.conftest import EXAMPLES

KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ9tWqDYf0QjzPLVvTQ4kL3bqHf6rH7Lr3Q6Vb8Xbq9 a"


def _repo(tmp_path: Path, review: str, classification: str = "") -> Path:
    repo = tmp_path / "quickstart"
    if not repo.exists():
        shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
        (repo / "policies").mkdir()
    (repo / "policies" / "review.yaml").write_text(review)
    (repo / "policies" / "classification.yaml").write_text(classification or "classification: {}\n")
    return repo


BEFORE = """review:
  require_author: true
  reviewers:
    alice: {groups: [security], github: alice-gh}
    bob: {groups: [security]}
  rules:
    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true,
       reviewer_groups: [security]}
    - {name: ledger, sources: [wiki], reviewer_groups: [finance]}
"""


def test_changes_name_what_the_change_did_concisely(tmp_path: Path) -> None:
    repo = _repo(tmp_path, BEFORE, "classification:\n  sensitive:\n    - {source: wiki}\n")
    in_force = PoliciesInForce.of(load_config(repo))
    after = (
        BEFORE.replace("require_author: true", "require_author: false")
        .replace("bob: {groups: [security]}", f'bob: {{groups: [security], public_key: "{KEY_A}"}}')
        .replace("    - {name: ledger, sources: [wiki], reviewer_groups: [finance]}\n", "")
        .replace("  rules:\n", "    sec-bot: {groups: [security]}\n  rules:\n")
    )
    repo = _repo(tmp_path, after)
    config = load_config(repo)
    assert differing(config, in_force.text()) == in_force
    assert changes(config, in_force) == [
        "reviewers added: sec-bot",
        "keys added: bob",
        "rules removed: ledger",
        "require_author: True → False",
        "sensitive classifications removed: wiki:*",
    ]


def test_unchanged_policies_are_not_a_change(tmp_path: Path) -> None:
    config = load_config(_repo(tmp_path, BEFORE))
    assert differing(config, PoliciesInForce.of(config).text()) is None
    assert differing(config, None) is None  # nothing on record: the repository's trusted


def test_a_merged_gate_needs_what_each_needs() -> None:
    now = Gate(("wiki",), ("finance",), 1)
    before = Gate(("sensitive-grants",), ("security",), 2)
    both = merged(now, before)
    assert both is not None
    assert set(both.needs()) == {Need(("finance",), 1), Need(("security",), 2)}
    # what the plan shows of it: both rules, both groups, the larger quorum, each need
    assert (both.rules, both.reviewer_groups, both.quorum) == (
        ("sensitive-grants", "wiki"),
        ("finance", "security"),
        2,
    )
    assert both.requires == (Need(("finance",), 1), Need(("security",), 2))
    # two rules asking the same of the same group: one need, not a list of one
    twin = merged(Gate(("a",), ("security",), 1), Gate(("b",), ("security",), 1))
    assert twin == Gate(("a", "b"), ("security",), 1)
    assert merged(None, before) == before
    assert merged(now, now) == now
    assert merged(None, None) is None


def test_policies_in_force_that_cannot_be_read_stop_everything(tmp_path: Path) -> None:
    """Never taken for "nothing on record": that would trust the repository's policies."""
    config = load_config(_repo(tmp_path, BEFORE))
    for broken in ("{not json", '{"review": {"reviewers": 3}}', "{}"):
        with pytest.raises(StoreError, match="cannot be read"):
            differing(config, broken)
