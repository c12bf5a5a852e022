"""Signed approvals, from the reviewer's key to what ``approvals verify`` says: which keys
sign, which approvals count, and the reason given for each one that does not."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from accesshive.approvals.files import approvals_path, read_approvals
from accesshive.approvals.model import Approval, evaluate
from accesshive.approvals.operations import sign_approvals
from accesshive.approvals.signing import load_private_key, message, verify
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.errors import ApprovalError
from accesshive.operations import StoreRef, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.planfile import write_plan
from tests.conftest import EXAMPLES

TODAY = dt.date(2026, 11, 29)
FIXED = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
FIXED_PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"


def _public(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def _openssh(key: Ed25519PrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    return path


def _pem(key: Ed25519PrivateKey | rsa.RSAPrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def keys() -> dict[str, Ed25519PrivateKey]:
    return {name: Ed25519PrivateKey.generate() for name in ("alice", "bob", "carol")}


@pytest.fixture
def repo(tmp_path: Path, keys: dict[str, Ed25519PrivateKey]) -> Path:
    """Sensitive grants need two approvals from security or platform."""
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    review = f"""review:
  reviewers:
    alice: {{groups: [security], public_key: "{_public(keys["alice"])} alice@laptop"}}
    bob: {{groups: [platform, audit], public_key: "{_public(keys["bob"])}"}}
    carol: {{groups: [finance], public_key: "{_public(keys["carol"])}"}}
    erin: {{groups: [security]}}
  rules:
    - name: sensitive-grants
      order_kinds: [grant]
      sensitive_only: true
      reviewer_groups: [security, platform]
      quorum: 2
"""
    (dest / "policies").mkdir()
    (dest / "policies" / "review.yaml").write_text(review)
    assert CliRunner().invoke(main, ["sync", str(dest)]).exit_code == 0
    return dest


@pytest.fixture
def plan(repo: Path) -> Plan:
    return plan_repository(repo, TODAY, store=StoreRef(), author="dave")


def _gated(plan: Plan) -> list[str]:
    return sorted(o.id for o in plan.orders if o.gate)


def _sign(
    repo: Path, plan: Plan, key: Ed25519PrivateKey, reviewer: str, orders: list[str]
) -> list[Approval]:
    path = _openssh(key, repo.parent / f"{reviewer}.key")
    return sign_approvals(load_config(repo), plan, path, reviewer, orders, False)[1]


def _verify_text(repo: Path, plan: Plan) -> str:
    plan_file = repo.parent / "plan.json"
    write_plan(plan, plan_file)
    result = CliRunner().invoke(main, ["approvals", "verify", str(plan_file), "-C", str(repo)])
    return result.output


def test_an_approval_signed_by_an_earlier_release_still_verifies() -> None:
    """Known answer: approvals files already committed to pull requests must keep
    verifying after an upgrade (Ed25519 signatures are deterministic)."""
    payload = message("a" * 64, "0123456789ab", "c" * 64, "alice", "2026-11-29T10:00:00+00:00")
    signature = (
        "akm+N64h2LbauID5E/TjT818aCq0EiUTpzcuiCuW5bSBEdrriURzNw7ai5driUQfGt2HSocIhJLFhhnGmpHFBw=="
    )
    assert _public(FIXED) == FIXED_PUBLIC
    assert verify(FIXED_PUBLIC, payload, signature)
    assert base64.b64encode(FIXED.sign(payload)).decode() == signature
    other = message("a" * 64, "0123456789ab", "c" * 64, "bob", "2026-11-29T10:00:00+00:00")
    assert not verify(FIXED_PUBLIC, other, signature)


def test_a_signature_with_anything_added_does_not_verify() -> None:
    payload = message("a" * 64, "0123456789ab", "c" * 64, "alice", "2026-11-29T10:00:00+00:00")
    good = base64.b64encode(FIXED.sign(payload)).decode()
    assert verify(FIXED_PUBLIC, payload, good)
    for edited in (good[:10] + "*" + good[10:], good[:10] + " " + good[10:], good + "!"):
        assert not verify(FIXED_PUBLIC, payload, edited), edited


def test_the_approvals_file_records_what_was_approved(
    repo: Path, plan: Plan, keys: dict[str, Ed25519PrivateKey]
) -> None:
    """The content digest is the SHA-256 of the order's canonical body, as the plan file
    holds it: anyone can check which order content an approval was for."""
    gate = _gated(plan)[0]
    (made,) = _sign(repo, plan, keys["bob"], "bob", [gate])
    body = plan.order(gate).body()
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert made.content_digest == hashlib.sha256(canonical.encode()).hexdigest()
    signed_at = dt.datetime.fromisoformat(made.signed_at)
    assert signed_at.utcoffset() == dt.timedelta(0)  # UTC, with its offset
    assert abs(dt.datetime.now(dt.UTC) - signed_at) < dt.timedelta(minutes=5)
    assert read_approvals(approvals_path(repo, plan.digest)) == [made]


def test_a_public_key_with_a_comment_still_identifies_the_reviewer(
    repo: Path, plan: Plan, keys: dict[str, Ed25519PrivateKey]
) -> None:
    made = _sign(repo, plan, keys["alice"], "alice", _gated(plan)[:1])
    assert len(made) == 1
    verdicts = evaluate(plan, load_config(repo).policies.review, made)
    assert verdicts[_gated(plan)[0]].approvers == ["alice"]


def test_all_gated_signs_every_gated_order(
    repo: Path, plan: Plan, keys: dict[str, Ed25519PrivateKey]
) -> None:
    path = _openssh(keys["bob"], repo.parent / "bob.key")
    _, made = sign_approvals(load_config(repo), plan, path, "bob", [], True)
    assert [a.order for a in made] == _gated(plan)


def test_signing_refusals_say_what_is_wrong(
    repo: Path, plan: Plan, keys: dict[str, Ed25519PrivateKey]
) -> None:
    config = load_config(repo)
    path = _openssh(keys["bob"], repo.parent / "bob.key")
    with pytest.raises(ApprovalError) as caught:
        sign_approvals(config, plan, path, "zoe", [], True)
    assert str(caught.value) == "'zoe' is not a reviewer in policies/review.yaml"
    with pytest.raises(ApprovalError) as caught:
        sign_approvals(config, plan, path, "bob", [], False)
    assert str(caught.value) == "name the orders to approve (--order ID) or use --all-gated"
    with pytest.raises(ApprovalError) as caught:
        sign_approvals(config, plan, path, "bob", ["0123456789ab"], False)
    assert str(caught.value) == (
        f"order 0123456789ab is not a gated order of plan {plan.digest[:12]}"
    )
    assert not approvals_path(repo, plan.digest).exists()


def test_keys_in_pem_and_openssh_form_sign(tmp_path: Path) -> None:
    for path in (_pem(FIXED, tmp_path / "pem"), _openssh(FIXED, tmp_path / "ssh")):
        assert _public(load_private_key(path)) == FIXED_PUBLIC


def test_unusable_keys_are_refused_with_the_reason(tmp_path: Path) -> None:
    rsa_key = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048), tmp_path / "r")
    with pytest.raises(ApprovalError) as caught:
        load_private_key(rsa_key)
    assert str(caught.value) == (
        f"{rsa_key} is not an Ed25519 key; generate one with ssh-keygen -t ed25519"
    )
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    with pytest.raises(ApprovalError) as caught:
        load_private_key(garbage)
    assert str(caught.value).startswith(f"{garbage} is not an unencrypted private key (")
    missing = tmp_path / "missing"
    with pytest.raises(ApprovalError) as caught:
        load_private_key(missing)
    assert str(caught.value) == f"cannot read the signing key {missing} (No such file or directory)"


def test_verify_names_who_approved_what_is_missing_and_what_does_not_count(
    repo: Path, plan: Plan, keys: dict[str, Ed25519PrivateKey]
) -> None:
    first, second = _gated(plan)[:2]
    approvals = _sign(repo, plan, keys["alice"], "alice", [first, second])
    approvals += _sign(repo, plan, keys["bob"], "bob", [first])
    approvals += _sign(repo, plan, keys["carol"], "carol", [second])
    at = approvals[0].signed_at
    cd = approvals[1].content_digest
    approvals += [
        Approval(plan.digest, second, cd, "erin", at, "AAAA"),
        Approval(plan.digest, second, cd, "zoe", at, "AAAA"),
    ]
    verdicts = evaluate(plan, load_config(repo).policies.review, approvals)
    assert verdicts[first].describe() == "approved by alice, bob"
    assert verdicts[second].describe() == (
        "needs 1 more approval(s) from platform, security (approved by alice); not counted: "
        "carol (not in platform, security); erin (the reviewer has no public key); "
        "zoe (not a reviewer in policies/review.yaml)"
    )
    output = _verify_text(repo, plan)
    assert "    approved by alice, bob" in output
    assert (
        "    needs 1 more approval(s) from platform, security (approved by alice); "
        "not counted: carol (not in platform, security)"
    ) in output


def test_nothing_approved_says_only_what_is_needed(repo: Path, plan: Plan) -> None:
    verdicts = evaluate(plan, load_config(repo).policies.review, [])
    assert verdicts[_gated(plan)[0]].describe() == (
        "needs 2 more approval(s) from platform, security"
    )
