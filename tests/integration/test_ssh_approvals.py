"""Approvals signed by the real ssh-keygen (``-Y sign -n accesshive``): a plain key file,
a passphrase-protected key file, a passphrase-protected key through a real ssh-agent,
several keys per reviewer, other key types; and what is refused: an altered signature,
another namespace, a key not declared for the reviewer, a replay of another plan's
approval, the pre-SSHSIG format; clear errors when ssh-keygen, the key or the agent fail.

The FIDO (sk-ssh-ed25519@openssh.com) signatures are constructed by the test per
PROTOCOL.u2f (no security key here), and checked against ``ssh-keygen -Y verify`` too.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from accesshive.approvals.files import approvals_path
from accesshive.approvals.model import OLD_FORMAT, content_digest
from accesshive.approvals.operations import check, sign_approvals
from accesshive.approvals.signing import _failure, message, sign
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.errors import ApprovalError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.orders import canonical_json
from accesshive.plan.planfile import write_plan
from accesshive.sshsig import armor, parse, ssh_string
from tests.conftest import EXAMPLES, reviewed_quickstart
from tests.support.ssh import agent, askpass_env, have_openssh, keygen, keygen_sign, ssh_add

# CI installs openssh-client (.ci/run) and must run these; elsewhere they skip without it.
pytestmark = pytest.mark.skipif(
    not have_openssh() and not os.environ.get("CI"), reason="needs openssh-client"
)

TODAY = dt.date(2026, 11, 29)
AT = "2026-11-29T10:00:00+00:00"
PASSPHRASE = "correct horse battery staple 7"


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    path = tmp_path / "keys"
    path.mkdir()
    return path


def _repo(tmp_path: Path, reviewers: dict[str, tuple[str, list[str]]], sync: bool = True) -> Path:
    """The quickstart, synced, with ``reviewers`` (name: (group, public key lines)) and one
    rule: sensitive grants need one approval from security."""
    lines = ["review:", "  reviewers:"]
    for name, (group, public) in reviewers.items():
        lines += [f"    {name}:", f"      groups: [{group}]", "      public_keys:"]
        lines += [f'        - "{line}"' for line in public] or ["        []"]
    lines += [
        "  rules:",
        "    - {name: sensitive-grants, order_kinds: [grant], sensitive_only: true,",
        "       reviewer_groups: [security], quorum: 1}",
    ]
    return reviewed_quickstart(tmp_path / "quickstart", "\n".join(lines) + "\n", sync=sync)


def _plan(repo: Path) -> Plan:
    return plan_repository(repo, TODAY, store=StoreRef(), author="dave")


def _gate(plan: Plan) -> str:
    (gate,) = [
        o.id
        for o in plan.orders
        if o.gate and o.change.source == "wiki" and o.change.entitlement == "wiki-admins"
    ]
    return gate


def _approve(repo: Path, plan: Plan, key: Path, reviewer: str) -> tuple[Result, Path]:
    plan_file = repo.parent / "plan.json"
    write_plan(plan, plan_file)
    args = ["approve", str(plan_file), "--order", _gate(plan), "--key", str(key)]
    result = CliRunner().invoke(main, [*args, "--as", reviewer, "-C", str(repo)])
    return result, plan_file


def _verify(repo: Path, plan_file: Path) -> Result:
    return CliRunner().invoke(main, ["approvals", "verify", str(plan_file), "-C", str(repo)])


def _rejected(repo: Path, plan: Plan) -> list[tuple[str, str]]:
    return check(load_config(repo), plan, None)[_gate(plan)].rejected


def _write_entry(repo: Path, plan: Plan, signature: str, reviewer: str = "alice") -> None:
    """One approvals-file entry for the gated order, with ``signature`` as given."""
    gate = _gate(plan)
    entry = {
        "order": gate,
        "content_digest": content_digest(plan.order(gate)),
        "reviewer": reviewer,
        "signed_at": AT,
        "signature": signature,
    }
    path = approvals_path(repo, plan.digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(canonical_json({"plan_digest": plan.digest, "approvals": [entry]}))


def _payload(plan: Plan, reviewer: str = "alice") -> bytes:
    gate = _gate(plan)
    return message(plan.digest, gate, content_digest(plan.order(gate)), reviewer, AT)


# ------------------------------------------------------------------------- key files


def test_a_plain_key_file_approves_through_the_cli(tmp_path: Path, keys: Path) -> None:
    repo = _repo(tmp_path, {"alice": ("security", [keygen(keys / "alice")])})
    plan = _plan(repo)
    signed, plan_file = _approve(repo, plan, keys / "alice", "alice")
    assert signed.exit_code == 0, signed.output
    text = approvals_path(repo, plan.digest).read_text()
    assert "-----BEGIN SSH SIGNATURE-----" in text
    assert parse(text[text.index("-----BEGIN") :]).namespace == "accesshive"
    verified = _verify(repo, plan_file)
    assert f"✓ {_gate(plan)}" in verified.output
    assert "approved by alice" in verified.output
    assert apply_plan(repo, plan, StoreRef(), TODAY, "ci").states[_gate(plan)] == "verified"


def test_a_passphrase_protected_key_file_is_unlocked_by_ssh_keygen(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, {"alice": ("security", [keygen(keys / "alice", PASSPHRASE)])})
    plan = _plan(repo)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    for name, value in askpass_env(tmp_path, PASSPHRASE).items():
        monkeypatch.setenv(name, value)
    signed, plan_file = _approve(repo, plan, keys / "alice", "alice")
    assert signed.exit_code == 0, signed.output
    assert "approved by alice" in _verify(repo, plan_file).output
    assert PASSPHRASE not in signed.output
    assert PASSPHRASE not in approvals_path(repo, plan.digest).read_text()


def test_a_wrong_passphrase_is_a_clear_error(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, {"alice": ("security", [keygen(keys / "alice", PASSPHRASE)])})
    plan = _plan(repo)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    for name, value in askpass_env(tmp_path, "not it").items():
        monkeypatch.setenv(name, value)
    signed, _ = _approve(repo, plan, keys / "alice", "alice")
    assert signed.exit_code != 0
    assert f"ssh-keygen could not sign with {keys / 'alice'}" in signed.output
    assert "incorrect passphrase" in signed.output
    assert "not it" not in signed.output
    assert not approvals_path(repo, plan.digest).exists()


# --------------------------------------------------------------------------- ssh-agent


@pytest.fixture
def ssh_agent(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with agent() as env:
        monkeypatch.setenv("SSH_AUTH_SOCK", env["SSH_AUTH_SOCK"])
        yield env


def test_a_passphrase_protected_key_in_ssh_agent_approves_with_its_public_key(
    tmp_path: Path, keys: Path, ssh_agent: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, {"alice": ("security", [keygen(keys / "alice", PASSPHRASE)])})
    ssh_add(keys / "alice", {**ssh_agent, **askpass_env(tmp_path, PASSPHRASE)})
    # signing must go through the agent: no askpass, no terminal, only the public key here
    for name in ("SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "ACCESSHIVE_TEST_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    only_public = tmp_path / "elsewhere"
    only_public.mkdir()
    shutil.copy(keys / "alice.pub", only_public / "id_ed25519.pub")
    plan = _plan(repo)
    signed, plan_file = _approve(repo, plan, only_public / "id_ed25519.pub", "alice")
    assert signed.exit_code == 0, signed.output
    verified = _verify(repo, plan_file)
    assert f"✓ {_gate(plan)}" in verified.output
    assert "approved by alice" in verified.output
    assert PASSPHRASE not in signed.output + approvals_path(repo, plan.digest).read_text()


def test_an_agent_without_the_key_is_a_clear_error(
    tmp_path: Path, keys: Path, ssh_agent: dict[str, str]
) -> None:
    repo = _repo(tmp_path, {"alice": ("security", [keygen(keys / "alice")])})
    only_public = tmp_path / "elsewhere"
    only_public.mkdir()
    shutil.copy(keys / "alice.pub", only_public / "id_ed25519.pub")
    signed, _ = _approve(repo, _plan(repo), only_public / "id_ed25519.pub", "alice")
    assert signed.exit_code != 0
    assert "ssh-keygen could not sign with" in signed.output
    assert f"through ssh-agent ({ssh_agent['SSH_AUTH_SOCK']})" in signed.output
    assert "ssh-add -l" in signed.output


def test_no_agent_at_all_is_a_clear_error(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, {"alice": ("security", [keygen(keys / "alice")])})
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    only_public = tmp_path / "elsewhere"
    only_public.mkdir()
    shutil.copy(keys / "alice.pub", only_public / "id_ed25519.pub")
    signed, _ = _approve(repo, _plan(repo), only_public / "id_ed25519.pub", "alice")
    assert signed.exit_code != 0
    assert "SSH_AUTH_SOCK is not set" in signed.output


def test_missing_ssh_keygen_is_a_clear_error(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, {"alice": ("security", [keygen(keys / "alice")])})
    plan = _plan(repo)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    signed, _ = _approve(repo, plan, keys / "alice", "alice")
    assert signed.exit_code != 0
    assert "ssh-keygen was not found on PATH" in signed.output
    assert "openssh-client" in signed.output


def test_a_key_not_declared_for_the_reviewer_is_refused_before_signing(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(tmp_path, {"alice": ("security", [keygen(keys / "alice")])})
    keygen(keys / "other")
    monkeypatch.chdir(tmp_path)  # the policy file is named from here
    signed, _ = _approve(repo, _plan(repo), keys / "other", "alice")
    assert signed.exit_code != 0
    assert "is not a key quickstart/policies/review.yaml lists for 'alice'" in signed.output
    assert not approvals_path(repo, _plan(repo).digest).exists()


# ------------------------------------------------------------------------ several keys


def test_any_of_a_reviewers_keys_counts_ecdsa_and_rsa_too(tmp_path: Path, keys: Path) -> None:
    declared = [
        keygen(keys / "laptop"),
        keygen(keys / "ecdsa", key_type="ecdsa"),
        keygen(keys / "rsa", key_type="rsa"),
    ]
    repo = _repo(tmp_path, {"alice": ("security", declared)})
    plan = _plan(repo)
    for key in ("laptop", "ecdsa", "rsa"):
        approvals_path(repo, plan.digest).unlink(missing_ok=True)
        signed, _ = _approve(repo, plan, keys / key, "alice")
        assert signed.exit_code == 0, (key, signed.output)
        verdict = check(load_config(repo), plan, None)[_gate(plan)]
        assert (verdict.approved, verdict.rejected) == (True, []), key


# -------------------------------------------------------------------------- refusals


@pytest.fixture
def alice_repo(tmp_path: Path, keys: Path) -> Path:
    return _repo(
        tmp_path,
        {"alice": ("security", [keygen(keys / "alice")]), "bob": ("security", [])},
    )


def test_an_altered_signature_is_refused(alice_repo: Path, keys: Path) -> None:
    plan = _plan(alice_repo)
    good = keygen_sign(keys / "alice", _payload(plan))
    _write_entry(alice_repo, plan, good)
    assert check(load_config(alice_repo), plan, None)[_gate(plan)].approved  # as made
    blob = bytearray(base64.b64decode("".join(good.strip().splitlines()[1:-1])))
    blob[-5] ^= 0x01  # one bit of the Ed25519 signature
    _write_entry(alice_repo, plan, armor(bytes(blob)))
    assert _rejected(alice_repo, plan) == [
        ("alice", "the signature does not verify (forged or edited)")
    ]
    state = apply_plan(alice_repo, plan, StoreRef(), TODAY, "ci").states[_gate(plan)]
    assert state == "awaiting_approval"


def test_a_signature_of_another_message_is_refused(alice_repo: Path, keys: Path) -> None:
    plan = _plan(alice_repo)
    other = keygen_sign(keys / "alice", _payload(plan).replace(b"alice", b"alicf"))
    _write_entry(alice_repo, plan, other)
    assert _rejected(alice_repo, plan) == [
        ("alice", "the signature does not verify (forged or edited)")
    ]


def test_a_signature_in_another_namespace_is_refused(alice_repo: Path, keys: Path) -> None:
    plan = _plan(alice_repo)
    _write_entry(alice_repo, plan, keygen_sign(keys / "alice", _payload(plan), "git"))
    assert _rejected(alice_repo, plan) == [
        ("alice", "signed for namespace 'git', not 'accesshive'")
    ]


def test_a_signature_by_a_key_not_declared_for_the_reviewer_is_refused(
    alice_repo: Path, keys: Path
) -> None:
    plan = _plan(alice_repo)
    public = keygen(keys / "mallory")
    _write_entry(alice_repo, plan, keygen_sign(keys / "mallory", _payload(plan)))
    fingerprint = "SHA256:" + base64.b64encode(
        hashlib.sha256(base64.b64decode(public.split()[1])).digest()
    ).decode().rstrip("=")
    assert _rejected(alice_repo, plan) == [
        ("alice", f"signed by ssh-ed25519 {fingerprint}, not a key of this reviewer")
    ]
    # alice's genuine signature presented as bob's (who has no key): bob approves nothing
    signature = keygen_sign(keys / "alice", _payload(plan, "bob"))
    _write_entry(alice_repo, plan, signature, reviewer="bob")
    assert _rejected(alice_repo, plan) == [("bob", "the reviewer has no public key")]


def test_a_replayed_approval_of_another_plan_is_refused_on_the_plan_digest(
    alice_repo: Path, keys: Path
) -> None:
    plan_a = _plan(alice_repo)
    gate = _gate(plan_a)
    path_a, _ = sign_approvals(
        load_config(alice_repo), plan_a, keys / "alice", "alice", [gate], False
    )
    people = alice_repo / "identities" / "people.yaml"
    people.write_text(
        people.read_text() + "  katherine.johnson:\n    type: human\n    attributes:\n"
        "      given_name: Katherine\n      family_name: Johnson\n"
        "      email: katherine.johnson@quickstart.example\n      department: Engineering\n"
        "      employee_number: 1006\n"
    )
    plan_b = _plan(alice_repo)
    assert plan_b.digest != plan_a.digest and _gate(plan_b) == gate
    shutil.copy(path_a, approvals_path(alice_repo, plan_b.digest))  # replayed as it is
    plan_file = alice_repo.parent / "plan-b.json"
    write_plan(plan_b, plan_file)
    verified = _verify(alice_repo, plan_file)
    assert verified.exit_code != 0
    assert f"alice (it approves another plan ({plan_a.digest[:12]}))" in verified.output
    # ... and re-addressed to plan B, the genuine signature no longer verifies
    path_b = approvals_path(alice_repo, plan_b.digest)
    path_b.write_text(path_b.read_text().replace(plan_a.digest, plan_b.digest))
    assert _rejected(alice_repo, plan_b) == [
        ("alice", "the signature does not verify (forged or edited)")
    ]


def test_an_approval_in_the_old_bare_ed25519_format_is_refused_with_what_to_do(
    alice_repo: Path, keys: Path
) -> None:
    """What accesshive wrote before SSH signatures: base64 Ed25519 over the v1 message."""
    plan = _plan(alice_repo)
    gate = _gate(plan)
    raw = (keys / "alice").read_bytes()
    key = serialization.load_ssh_private_key(raw, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    v1 = canonical_json(
        {
            "purpose": "accesshive-approval-v1",
            "plan_digest": plan.digest,
            "order": gate,
            "content_digest": content_digest(plan.order(gate)),
            "reviewer": "alice",
            "signed_at": AT,
        }
    ).encode()
    _write_entry(alice_repo, plan, base64.b64encode(key.sign(v1)).decode())
    assert _rejected(alice_repo, plan) == [("alice", OLD_FORMAT)]
    assert "sign the approval again with the approve command" in OLD_FORMAT


# ----------------------------------------------------------------------- FIDO (sk-)


def _sk_key(application: bytes = b"ssh:") -> tuple[Ed25519PrivateKey, str]:
    """An Ed25519 key standing in for a security key's, and its sk- public key line."""
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    blob = ssh_string(b"sk-ssh-ed25519@openssh.com") + ssh_string(raw) + ssh_string(application)
    return key, f"sk-ssh-ed25519@openssh.com {base64.b64encode(blob).decode()} alice@yubikey"


def _sk_sign(
    key: Ed25519PrivateKey, public: str, data: bytes, flags: int = 0x01, counter: int = 7
) -> str:
    """An SSHSIG signature constructed as a FIDO authenticator and ssh-keygen would make it
    (PROTOCOL.sshsig around PROTOCOL.u2f's signature)."""
    blob = base64.b64decode(public.split()[1])
    to_sign = (
        b"SSHSIG"
        + ssh_string(b"accesshive")
        + ssh_string(b"")
        + ssh_string(b"sha512")
        + ssh_string(hashlib.sha512(data).digest())
    )
    tail = bytes([flags]) + struct.pack(">I", counter)
    authenticator = hashlib.sha256(b"ssh:").digest() + tail + hashlib.sha256(to_sign).digest()
    signature = ssh_string(b"sk-ssh-ed25519@openssh.com") + ssh_string(key.sign(authenticator))
    signature += tail
    sshsig = (
        b"SSHSIG"
        + struct.pack(">I", 1)
        + ssh_string(blob)
        + ssh_string(b"accesshive")
        + ssh_string(b"")
        + ssh_string(b"sha512")
        + ssh_string(signature)
    )
    return armor(sshsig)


def test_a_fido_sk_ed25519_signature_counts(alice_repo: Path, tmp_path: Path) -> None:
    key, public = _sk_key()
    repo = _repo(tmp_path / "sk", {"alice": ("security", [public])})
    plan = _plan(repo)
    signature = _sk_sign(key, public, _payload(plan))
    # the construction is what OpenSSH itself accepts
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"alice {public}\n")
    (tmp_path / "sig").write_text(signature)
    checked = subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "verify",
            "-f",
            str(signers),
            "-I",
            "alice",
            "-n",
            "accesshive",
            "-s",
            str(tmp_path / "sig"),
        ],
        input=_payload(plan),
        capture_output=True,
    )
    assert checked.returncode == 0, checked.stderr
    _write_entry(repo, plan, signature)
    verdict = check(load_config(repo), plan, None)[_gate(plan)]
    assert (verdict.approved, verdict.rejected) == (True, [])


def test_a_fido_signature_without_user_presence_or_altered_is_refused(
    alice_repo: Path, tmp_path: Path
) -> None:
    key, public = _sk_key()
    repo = _repo(tmp_path / "sk", {"alice": ("security", [public])})
    plan = _plan(repo)
    for bad in (
        _sk_sign(key, public, _payload(plan), flags=0x00),  # no touch
        _sk_sign(key, public, _payload(plan).replace(b"alice", b"alicf")),
    ):
        _write_entry(repo, plan, bad)
        assert _rejected(repo, plan) == [
            ("alice", "the signature does not verify (forged or edited)")
        ]


def test_a_malformed_public_key_in_the_policy_is_a_config_error(tmp_path: Path, keys: Path) -> None:
    public = keygen(keys / "alice")
    kind, b64 = public.split()[:2]
    repo = _repo(tmp_path, {"alice": ("security", [f"ssh-rsa {b64}"])}, sync=False)
    result = CliRunner().invoke(main, ["validate", str(repo)])
    assert result.exit_code != 0
    assert "says ssh-rsa but holds a ssh-ed25519 key" in result.output
    assert kind == "ssh-ed25519"


def test_a_key_listed_for_two_reviewers_is_a_config_error(tmp_path: Path, keys: Path) -> None:
    """Else one person holding it would count as two reviewers towards a quorum."""
    public = keygen(keys / "alice")
    repo = _repo(
        tmp_path,
        {"alice": ("security", [public]), "bob": ("security", [public + " bob@laptop"])},
        sync=False,
    )
    result = CliRunner().invoke(main, ["validate", str(repo)])
    assert result.exit_code != 0
    assert "is listed for both 'alice' and 'bob': a key belongs to one reviewer" in result.output


def test_without_as_the_reviewer_is_the_one_the_key_is_listed_for(
    tmp_path: Path, keys: Path
) -> None:
    """The PR comment's hint names no reviewer: the key says who signs."""
    repo = _repo(
        tmp_path,
        {
            "alice": ("security", [keygen(keys / "alice")]),
            "bob": ("security", [keygen(keys / "bob")]),
        },
    )
    plan = _plan(repo)
    plan_file = repo.parent / "plan.json"
    write_plan(plan, plan_file)
    args = ["approve", str(plan_file), "--order", _gate(plan), "-C", str(repo), "--key"]
    signed = CliRunner().invoke(main, [*args, str(keys / "bob")])
    assert signed.exit_code == 0, signed.output
    assert "as bob into" in signed.output
    assert _rejected(repo, plan) == []
    stranger = keygen(keys / "stranger")
    refused = CliRunner().invoke(main, [*args, str(keys / "stranger")])
    assert refused.exit_code == 1
    assert f"{keys / 'stranger'} (SHA256:" in refused.output
    assert ") is not the key of any reviewer in " in refused.output
    assert stranger.split()[1] not in refused.output  # the fingerprint, not the key
    (keys / "carol.pub").unlink(missing_ok=True)
    keygen(keys / "carol")
    (keys / "carol.pub").unlink()
    unknown = CliRunner().invoke(main, [*args, str(keys / "carol")])
    assert unknown.exit_code == 1
    carol = keys / "carol"
    assert unknown.output == (
        f"Error: cannot tell whose key {carol} is (no {carol}.pub beside it): give "
        "--as NAME, or --key with the .pub file\n"
    )


# ------------------------------------------------------------- what a failed signing says


def test_a_failed_signing_says_what_ssh_keygen_said_in_the_exception(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error itself (not only ssh-keygen's own stderr, passed through) names the key
    and why: what the reviewer reads where the command is wrapped."""
    keygen(keys / "alice", PASSPHRASE)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    for name, value in askpass_env(tmp_path, "not it").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ApprovalError) as caught:
        sign(keys / "alice", [b"payload"])
    key = keys / "alice"
    assert str(caught.value) == (
        f'ssh-keygen could not sign with {key}: Load key "{key}": '
        "incorrect passphrase supplied to decrypt private key"
    )


def test_a_public_key_without_an_agent_says_how_to_start_one(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keygen(keys / "alice")
    only_public = tmp_path / "elsewhere"
    only_public.mkdir()
    shutil.copy(keys / "alice.pub", only_public / "id_ed25519.pub")
    pub = only_public / "id_ed25519.pub"
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(ApprovalError) as caught:
        sign(pub, [b"payload"])
    assert str(caught.value) == (
        f'ssh-keygen could not sign with {pub}: No private key found for public key "{pub}". '
        "With a public key, the private key is used through ssh-agent, and SSH_AUTH_SOCK is "
        "not set: start the agent and `ssh-add` the key"
    )


def test_the_failure_message_leaves_out_prompts_and_blank_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = ["Enter passphrase for k:", "", 'Load key "k": error in libcrypto', "try again"]
    assert _failure(Path("/keys/k"), said) == (
        'ssh-keygen could not sign with /keys/k: Load key "k": error in libcrypto; try again'
    )
    assert _failure(Path("/keys/k"), ["Enter passphrase:", ""]) == (
        "ssh-keygen could not sign with /keys/k"
    )
    # without a terminal the prompt and the reason come on one line: the reason stays
    glued = ['Enter passphrase: Load key "k": incorrect passphrase supplied to decrypt']
    assert _failure(Path("/keys/k"), glued) == (
        'ssh-keygen could not sign with /keys/k: Load key "k": incorrect passphrase supplied '
        "to decrypt"
    )
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/agent.sock")
    assert _failure(Path("/keys/k.pub"), []) == (
        "ssh-keygen could not sign with /keys/k.pub. With a public key, the private key is "
        "used through ssh-agent (/run/agent.sock): check `ssh-add -l` lists it, or `ssh-add` it"
    )


def test_approving_where_no_reviewer_is_declared_says_so(
    tmp_path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quickstart as shipped: no reviewers. The error says what is missing, rather than
    that this key belongs to nobody, and names the repository's review policy as a path
    that opens from where the reviewer runs ``approve -C`` (the shipped default is in
    force: the file to write)."""
    repo = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", repo, ignore=shutil.ignore_patterns(".accesshive"))
    assert CliRunner().invoke(main, ["sync", str(repo)]).exit_code == 0
    plan_file = tmp_path / "plan.json"
    write_plan(_plan(repo), plan_file)
    keygen(keys / "me")
    args = ["approve", str(plan_file), "--all-gated", "--key", str(keys / "me"), "-C", str(repo)]
    monkeypatch.chdir(tmp_path)
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1
    assert refused.output == (
        "Error: the review policy declares no reviewers: list them, with their public keys, "
        "under review.reviewers in quickstart/policies/review.yaml\n"
    )
