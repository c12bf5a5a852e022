"""Review gates: signed approvals, quorum, self-approval, forgeries, and GitHub pull requests."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from accesshive.approvals import Approval
from accesshive.approvals.files import approvals_path, read_approvals, write_approvals
from accesshive.approvals.model import content_digest
from accesshive.approvals.operations import check, sign_approvals, sign_declines
from accesshive.approvals.signing import message, sign
from accesshive.cli import main
from accesshive.config import load_config
from accesshive.errors import ApprovalError
from accesshive.operations import StoreRef, apply_plan, plan_repository
from accesshive.plan.model import Plan
from accesshive.plan.planfile import write_plan
from accesshive.store import open_store
from tests.conftest import reviewed_quickstart
from tests.support.ssh import keygen
from tests.unit.test_plan_comment import read, table_after

TODAY = dt.date(2026, 11, 29)


def _key(path: Path) -> str:
    return keygen(path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    keys.mkdir()
    people = {
        "alice": ("security", "alice-gh", False),
        "bob": ("security", "bob-gh", False),
        "carol": ("finance", "carol-gh", False),
        "mallory": ("security", "mallory-gh", True),
    }
    lines = ["review:", "  reviewers:"]
    for name, (group, gh, revoked) in people.items():
        pub = _key(keys / name)
        lines += [
            f"    {name}:",
            f"      groups: [{group}]",
            f"      github: {gh}",
            f'      public_key: "{pub}"',
            f"      revoked: {str(revoked).lower()}",
        ]
    lines += [
        "  rules:",
        "    - name: sensitive-grants",
        "      order_kinds: [grant]",
        "      sensitive_only: true",
        "      reviewer_groups: [security]",
        "      quorum: 1",
    ]
    return reviewed_quickstart(tmp_path / "quickstart", "\n".join(lines) + "\n")


def _plan(repo: Path, author: str | None = "dave") -> Plan:
    return plan_repository(repo, TODAY, store=StoreRef(), author=author)


def _wiki_gate(plan: Plan) -> str:
    return next(o.id for o in plan.orders if o.gate and o.change.source == "wiki")


def _keys(repo: Path) -> Path:
    return repo.parent / "keys"


def test_signed_approval_lets_apply_run_the_gated_order(repo: Path, tmp_path: Path) -> None:
    plan = _plan(repo)
    gate = _wiki_gate(plan)
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    runner = CliRunner()
    signed = runner.invoke(
        main,
        [
            "approve",
            str(plan_file),
            "--order",
            gate,
            "--key",
            str(_keys(repo) / "alice"),
            "--as",
            "alice",
            "-C",
            str(repo),
        ],
    )
    assert signed.exit_code == 0, signed.output
    assert approvals_path(repo, plan.digest).exists()
    verified = runner.invoke(main, ["approvals", "verify", str(plan_file), "-C", str(repo)])
    assert f"✓ {gate}" in verified.output
    assert "approved by alice" in verified.output
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert result.states[gate] == "verified"
    other = next(o.id for o in plan.orders if o.gate and o.id != gate)
    assert result.states[other] == "awaiting_approval"


def test_all_gated_approves_every_gated_order_and_nothing_else(repo: Path, tmp_path: Path) -> None:
    plan = _plan(repo)
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    key = str(_keys(repo) / "alice")
    args = ["approve", str(plan_file), "--all-gated", "--key", key, "--as", "alice"]
    signed = CliRunner().invoke(main, [*args, "-C", str(repo)])
    assert signed.exit_code == 0, signed.output
    gated = sorted(o.id for o in plan.orders if o.gate)
    assert len(gated) >= 2
    assert sorted(a.order for a in read_approvals(approvals_path(repo, plan.digest))) == gated
    verdicts = check(load_config(repo), plan, None)
    assert sorted(verdicts) == gated
    assert all(v.approved and v.approvers == ["alice"] for v in verdicts.values())


def _reasons(repo: Path, plan: Plan) -> dict[str, list[tuple[str, str]]]:
    return {oid: v.rejected for oid, v in check(load_config(repo), plan, None).items()}


@pytest.mark.parametrize("author", ["alice-gh", "alice"])  # her GitHub login, or her name
def test_self_approval_does_not_count(repo: Path, author: str) -> None:
    plan = _plan(repo, author=author)
    _signed_by_hand(repo, plan, "alice", _wiki_gate(plan))  # `approve` refuses to sign it
    assert _reasons(repo, plan)[_wiki_gate(plan)] == [
        ("alice", "the author of the change cannot approve it")
    ]


def _signed_by_hand(repo: Path, plan: Plan, reviewer: str, oid: str) -> None:
    """An approval made with ssh-keygen directly, as anyone who can write the approvals
    file could, where `approve` would refuse to sign it."""
    cd = content_digest(plan.order(oid))
    at = "2026-11-29T10:00:00+00:00"
    (signature,) = sign(_keys(repo) / reviewer, [message(plan.digest, oid, cd, reviewer, at)])
    write_approvals(
        approvals_path(repo, plan.digest),
        plan.digest,
        [Approval(plan.digest, oid, cd, reviewer, at, signature=signature)],
    )


def test_approve_refuses_an_order_the_reviewer_cannot_approve(repo: Path) -> None:
    """carol (finance) asks to approve a grant only security may approve: her signature
    would count for nothing, so none is made, and she is told whom to ask."""
    plan = _plan(repo)
    gate = _wiki_gate(plan)
    with pytest.raises(ApprovalError) as refused:
        sign_approvals(load_config(repo), plan, _keys(repo) / "carol", "carol", [gate], False)
    assert str(refused.value) == (
        f"carol cannot approve order {gate}: it needs 1 of security, and carol is in "
        "finance; nothing signed (ask a member of those groups)"
    )
    assert not approvals_path(repo, plan.digest).exists()
    with pytest.raises(ApprovalError) as none:
        sign_approvals(load_config(repo), plan, _keys(repo) / "carol", "carol", [], True)
    assert str(none.value) == (
        f"carol is in none of the groups that approve the gated orders of plan "
        f"{plan.digest[:12]} (1 of security); nothing signed"
    )
    assert not approvals_path(repo, plan.digest).exists()


def test_revoked_key_and_wrong_group_do_not_count(repo: Path) -> None:
    plan = _plan(repo)
    config = load_config(repo)
    gate = _wiki_gate(plan)
    _signed_by_hand(repo, plan, "carol", gate)
    sign_approvals(config, plan, _keys(repo) / "mallory", "mallory", [gate], False)
    assert sorted(_reasons(repo, plan)[gate]) == [
        ("carol", "not in security"),
        ("mallory", "the reviewer's key is revoked"),
    ]


def test_an_unsigned_approval_or_one_by_a_stranger_counts_for_nothing_and_says_why(
    repo: Path,
) -> None:
    plan = _plan(repo)
    gate = _wiki_gate(plan)
    cd = content_digest(plan.order(gate))
    at = "2026-11-29T10:00:00+00:00"
    write_approvals(
        approvals_path(repo, plan.digest),
        plan.digest,
        [
            Approval(plan.digest, gate, cd, "bob", at, signature=""),
            Approval(plan.digest, gate, cd, "zed", at, signature=""),
        ],
    )
    assert sorted(_reasons(repo, plan)[gate]) == [
        ("bob", "the approval has no signature"),
        ("zed", "not a reviewer in policies/review.yaml"),
    ]


def test_approval_of_another_plan_or_changed_order_or_forgery(repo: Path) -> None:
    plan = _plan(repo)
    config = load_config(repo)
    gate = _wiki_gate(plan)
    path, made = sign_approvals(config, plan, _keys(repo) / "alice", "alice", [gate], False)
    (good,) = made
    from dataclasses import replace

    forged = replace(good, reviewer="bob")  # alice's signature presented as bob's
    changed = replace(good, content_digest="0" * 64)
    other = replace(good, plan_digest="f" * 64)
    for bad, why in (
        (forged, "the signature does not verify (forged or edited)"),
        (changed, "the order changed since it was approved"),
        (other, "it approves another plan (ffffffffffff)"),
    ):
        path.unlink()
        write_approvals(path, plan.digest, [bad])
        from accesshive.approvals.model import evaluate

        verdict = evaluate(plan, config.policies.review, [bad])[gate]
        assert verdict.rejected == [(bad.reviewer, why)]
        assert not verdict.approved


def test_edited_file_counts_for_nothing_and_apply_says_why(repo: Path) -> None:
    plan = _plan(repo)
    gate = _wiki_gate(plan)
    path, _ = sign_approvals(load_config(repo), plan, _keys(repo) / "alice", "alice", [gate], False)
    path.write_text(path.read_text().replace("reviewer: alice", "reviewer: bob"))
    assert read_approvals(path)[0].reviewer == "bob"
    result = apply_plan(repo, plan, StoreRef(), TODAY, "ci")
    assert result.states[gate] == "awaiting_approval"
    assert "bob (the signature does not verify (forged or edited))" in result.messages[gate]


def test_wrong_key_for_the_reviewer_is_refused(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(repo)
    monkeypatch.chdir(repo)  # from the repository's root: its own path
    with pytest.raises(Exception, match=r"is not a key policies/review\.yaml lists for 'bob'"):
        sign_approvals(load_config(repo), plan, _keys(repo) / "alice", "bob", [], True)


def test_approve_says_what_to_name_and_what_cannot_be_approved(repo: Path) -> None:
    """Nothing is signed, and the reviewer reads what to fix."""
    plan, config, key = _plan(repo), load_config(repo), _keys(repo) / "alice"
    with pytest.raises(ApprovalError) as nothing:
        sign_approvals(config, plan, key, "alice", [], False)
    assert str(nothing.value) == "name the orders to approve (--order ID) or use --all-gated"
    ungated = next(o.id for o in plan.orders if not o.gate)
    with pytest.raises(ApprovalError) as not_gated:
        sign_approvals(config, plan, key, "alice", [ungated], False)
    assert str(not_gated.value) == (
        f"order {ungated} is not a gated order of plan {plan.digest[:12]}"
    )
    with pytest.raises(ApprovalError) as unknown:
        sign_approvals(config, plan, key, "alice", ["0123456789ab"], False)
    assert str(unknown.value) == f"order 0123456789ab is no order of plan {plan.digest[:12]}"
    with pytest.raises(ApprovalError) as stranger:
        sign_approvals(config, plan, key, "zed", [], True)
    # the repository's own policy file, as a path that opens from where the reviewer is
    assert str(stranger.value) == f"'zed' is not a reviewer in {repo}/policies/review.yaml"
    assert not approvals_path(repo, plan.digest).exists()


def test_a_private_key_without_its_pub_that_is_not_the_reviewers_signs_nothing(
    repo: Path, tmp_path: Path
) -> None:
    """Without a .pub beside the key, which key it is shows only once ssh-keygen has
    signed: a signature that does not verify against the reviewer's keys is thrown away,
    and the reviewer is told which key file was used."""
    plan = _plan(repo)
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(_keys(repo) / "alice", lone / "alice")
    with pytest.raises(ApprovalError) as caught:
        sign_approvals(load_config(repo), plan, lone / "alice", "bob", [], True)
    assert str(caught.value).startswith(f"ssh-keygen signed with {lone / 'alice'}, but ")
    with pytest.raises(ApprovalError) as declined:
        sign_declines(
            load_config(repo), plan, lone / "alice", "bob", [_wiki_gate(plan)], "no", False
        )
    assert str(declined.value).startswith(f"ssh-keygen signed with {lone / 'alice'}, but ")
    assert not approvals_path(repo, plan.digest).exists()


# ---------------------------------------------------------------------------- GitHub stand-in


class _GitHub(BaseHTTPRequestHandler):
    data: dict[str, Any] = {}

    def log_message(self, *args: object) -> None:
        return

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if self.headers.get("Authorization") != "Bearer test-token":
            return self._send(401, {"message": "Bad credentials"})
        parts = url.path.strip("/").split("/")
        # /repos/{owner}/{repo}/pulls/{n}[/reviews] or /issues/{n}/comments
        if parts[3] == "pulls" and len(parts) == 5:
            return self._send(
                200, {"number": int(parts[4]), "user": {"login": self.data["author"]}}
            )
        items = self.data["reviews" if parts[-1] == "reviews" else "comments"]
        query = parse_qs(url.query)
        page, per_page = int(query.get("page", ["1"])[0]), 2
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        if page * per_page < len(items):
            host = f"http://{self.headers['Host']}"
            links.append(f'<{host}{url.path}?per_page=100&page={page + 1}>; rel="next"')
        return self._send(200, chunk, {"Link": ", ".join(links)} if links else {})

    def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def github() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _review(login: str, state: str, body: str, n: int) -> dict[str, Any]:
    return {
        "id": n,
        "user": {"login": login},
        "state": state,
        "body": body,
        "html_url": f"https://github.com/acme/access/pull/7#pullrequestreview-{n}",
        "submitted_at": f"2026-11-29T10:0{n}:00Z",
    }


def _from_github(repo: Path, plan_file: Path, github: str):  # type: ignore[no-untyped-def]
    """`accesshive approvals from-github` on pull request acme/access#7 of the stand-in."""
    args = ["approvals", "from-github", str(plan_file), "--repo", "acme/access", "--pr", "7"]
    return CliRunner().invoke(main, [*args, "--api-url", github, "-C", str(repo)])


def test_approvals_from_a_github_pull_request(
    repo: Path, tmp_path: Path, github: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(repo)
    gate = _wiki_gate(plan)
    _GitHub.data = {
        "author": "dave",
        "reviews": [
            _review("carol-gh", "APPROVED", f"LGTM plan {plan.digest[:12]}", 1),
            _review("bob-gh", "APPROVED", f"ok {plan.digest[:12]}", 2),
            _review("bob-gh", "CHANGES_REQUESTED", "wait", 3),  # withdraws bob's approval
            _review("stranger", "APPROVED", plan.digest[:12], 4),
            _review("mallory-gh", "COMMENTED", "hm", 5),
        ],
        "comments": [
            {
                "id": 9,
                "user": {"login": "alice-gh"},
                "body": f"Checked it.\n/approve {gate} (plan {plan.digest[:12]})\n",
                "html_url": "https://github.com/acme/access/pull/7#issuecomment-9",
                "created_at": "2026-11-29T11:00:00Z",
                "updated_at": "2026-11-29T11:00:00Z",
            },
        ],
    }
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    result = _from_github(repo, plan_file, github)
    assert result.exit_code == 0, result.output
    assert "acme/access#7 by dave: recorded" in result.output
    assert "stranger: not a reviewer" in result.output
    with open_store(repo) as store:
        verdicts = check(load_config(repo), plan, store)
    assert verdicts[gate].approved
    assert verdicts[gate].approvers == ["alice"]  # carol is not in security; bob withdrew
    assert ("carol", "not in security") in verdicts[gate].rejected


def test_github_errors_are_clear(
    repo: Path, tmp_path: Path, github: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(repo)
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    result = _from_github(repo, plan_file, github)
    assert result.exit_code == 1
    assert "GitHub API 401" in result.output


def test_show_markdown_with_the_repository_says_who_approved_and_what_is_missing(
    repo: Path, tmp_path: Path
) -> None:
    plan = _plan(repo)
    gate = _wiki_gate(plan)
    gated = [o.id for o in plan.orders if o.gate]
    plan_file = tmp_path / "plan.json"
    write_plan(plan, plan_file)
    runner = CliRunner()
    for who in ("alice", "mallory"):
        key = str(_keys(repo) / who)
        args = ["approve", str(plan_file), "--order", gate, "--key", key, "--as", who]
        signed = runner.invoke(main, [*args, "-C", str(repo)])
        # mallory's key is revoked: her approval counts for nothing, which approve says first
        assert signed.exit_code == (0 if who == "alice" else 6), signed.output

    shown = runner.invoke(main, ["show", str(plan_file), "--format", "markdown", "-C", str(repo)])
    assert shown.exit_code == 0, shown.output
    comment = read(shown.stdout)
    waiting = len(gated) - 1
    assert comment.blocks[0][1].endswith(f", {waiting} waiting for review, 1 approved")
    table = table_after(comment, "Waiting for review")
    assert table.header == [
        "order",
        "identity",
        "what",
        "reviewer groups",
        "quorum",
        "missing",
        "approved by",
    ]
    rows = {codes[0]: row for codes, row in zip(table.row_codes, table.rows, strict=True)}
    assert sorted(rows) == sorted(gated)
    assert rows[gate][5:] == [
        "nothing: approved",
        "alice; not counted: mallory (the reviewer's key is revoked)",
    ]
    assert all(rows[o][5:] == ["1 approval", "nobody yet"] for o in gated if o != gate)
    item = [text for text, codes in comment.list_items if gate in codes]
    assert item[0].endswith("✅ approved (1 of security)")

    # the terminal's show says the same as the comment
    text = runner.invoke(main, ["show", str(plan_file), "-C", str(repo)])
    assert text.exit_code == 0, text.output
    assert f"({waiting} awaiting approval, 1 approved, " in text.output
    (line,) = [ln for ln in text.output.splitlines() if f"[{gate}]" in ln]
    assert line.endswith("✓ approved by alice"), line
    others = [
        ln for ln in text.output.splitlines() if "[" in ln and "awaiting approval: 1 of" in ln
    ]
    assert len(others) == waiting

    # without the repository, show knows nothing of approvals
    bare = read(runner.invoke(main, ["show", str(plan_file), "--format", "markdown"]).stdout)
    assert bare.blocks[0][1].endswith(f", {len(gated)} waiting for review")
    assert "approved by" not in table_after(bare, "Waiting for review").header


def test_approve_refuses_the_author_of_the_change(repo: Path) -> None:
    """alice made the plan (her GitHub login, or her name): her approval could never
    count, so none is signed, and she is told to ask someone else."""
    for author in ("alice-gh", "alice"):
        plan = _plan(repo, author=author)
        with pytest.raises(ApprovalError) as refused:
            sign_approvals(load_config(repo), plan, _keys(repo) / "alice", "alice", [], True)
        assert str(refused.value) == (
            f"alice is the author of this change (the plan names {author} as its author), and "
            "the author cannot approve it; nothing signed (ask another reviewer)"
        )
        assert not approvals_path(repo, plan.digest).exists()
