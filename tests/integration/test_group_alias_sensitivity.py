"""An entitlement is its group on the target: a new, unflagged entitlement that a SCIM
source's ``group_names`` maps onto the sensitive ``admins`` group (or a managed group
named like it) is sensitive, and its grants wait for review, against a real SCIM server
(scim2-server) that must end with nobody added to ``admins``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.operations import StoreRef, apply_plan, plan_repository
from tests.support.scim_server import ScimServer, scim_server
from tests.support.scim_sources import design_repo, design_source, people_yaml, token_env
from tests.support.ssh import keygen

TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ScimServer, str]]:
    with scim_server() as scim:
        scim.create_group("staff")
        admins = scim.create_group("admins")
        monkeypatch.setenv(token_env("design"), scim.token)
        yield scim, admins


def _repo(tmp_path: Path, url: str) -> Path:
    root = design_repo(tmp_path, design_source(url, concurrency=2), people_yaml(2))
    public = keygen(tmp_path / "alice")
    (root / "policies").mkdir()
    (root / "policies" / "review.yaml").write_text(
        "review:\n  reviewers:\n    alice:\n      groups: [security]\n"
        f'      public_key: "{public}"\n  rules:\n'
        "    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true, "
        "reviewer_groups: [security]}\n"
    )
    return root


def _sync(root: Path) -> None:
    synced = CliRunner().invoke(main, ["sync", str(root)])
    assert synced.exit_code == 0, synced.output


def _rota(root: Path, entitlement_yaml: str, connection_yaml: str = "") -> None:
    """The change: a `helpers` entitlement (as given) that every employee gets."""
    source = root / "sources" / "design.yaml"
    text = source.read_text().replace(
        "    entitlements:\n", f"    entitlements:\n      {entitlement_yaml}\n", 1
    )
    if connection_yaml:
        text = text.replace("    connection:\n", f"    connection:\n      {connection_yaml}\n", 1)
    source.write_text(text)
    access = root / "access.yaml"
    access.write_text(
        access.read_text()
        .replace("roles:\n", "  rota: {source: design, entitlements: [helpers]}\nroles:\n", 1)
        .replace("access_profiles: [design-staff]", "access_profiles: [design-staff, rota]")
    )


@pytest.mark.parametrize(
    ("entitlement", "connection"),
    [
        ("helpers: {type: group, description: Helpdesk rota}", "group_names: {helpers: admins}"),
        ("helpers: {type: group, description: Helpdesk rota, managed: true, name: admins}", ""),
    ],
    ids=["group_names", "managed-name"],
)
def test_an_entitlement_mapped_onto_a_sensitive_group_is_reviewed(
    tmp_path: Path, server: tuple[ScimServer, str], entitlement: str, connection: str
) -> None:
    scim, admins = server
    root = _repo(tmp_path, scim.url)
    _sync(root)
    first = plan_repository(root, TODAY, store=StoreRef())
    apply_plan(root, first, StoreRef(), TODAY, "ci")  # the people exist; policies in force
    _rota(root, entitlement, connection)
    _sync(root)
    plan = plan_repository(root, TODAY, store=StoreRef())
    rota = [o for o in plan.orders if o.change.entitlement == "helpers" and o.action == "grant"]
    assert len(rota) == 2
    assert all(o.change.sensitive and o.gate is not None for o in rota), rota
    result = apply_plan(root, plan, StoreRef(), TODAY, "ci")
    assert {result.states[o.id] for o in rota} == {"awaiting_approval"}
    assert scim.members(admins) == []
