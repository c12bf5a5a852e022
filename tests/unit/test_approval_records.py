"""What approval records show of themselves: JSON without empty fields or signatures,
the one-line verdict a reviewer reads, the one-line reason of a decline, and the exact
bytes a reviewer's signature covers."""

from __future__ import annotations

from accesshive.approvals import Approval, OrderApproval
from accesshive.approvals.declines import (
    MAX_REASON,
    Decline,
    decline_message,
    describe,
    one_line,
)
from accesshive.approvals.signing import message

SIG = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"


def test_a_declines_json_has_its_statement_but_not_its_signature() -> None:
    signed = Decline("p" * 64, "o" * 12, "c" * 64, "alice", "not yet", "2026-11-29", signature=SIG)
    assert signed.to_json() == {
        "plan_digest": "p" * 64,
        "order": "o" * 12,
        "content_digest": "c" * 64,
        "reviewer": "alice",
        "reason": "not yet",
        "signed_at": "2026-11-29",
        "withdrawn": False,
        "via": "signature",
    }
    unsigned = Decline("p" * 64, "o" * 12, "c" * 64, "bob", "no", "2026-11-30", via="github")
    assert "signature" not in unsigned.to_json()


def test_an_approvals_json_leaves_out_what_it_does_not_have() -> None:
    approval = Approval("p" * 64, "o" * 12, "c" * 64, "bob", "2026-11-29", via="github")
    assert approval.to_json() == {
        "plan_digest": "p" * 64,
        "order": "o" * 12,
        "content_digest": "c" * 64,
        "reviewer": "bob",
        "signed_at": "2026-11-29",
        "via": "github",
    }


def test_a_verdict_short_of_quorum_names_who_approved_so_far() -> None:
    verdict = OrderApproval("o" * 12, 3, ("security",), approvers=["alice", "bob"])
    assert verdict.describe() == ("needs 1 more approval(s) from security (approved by alice, bob)")


def test_the_bytes_a_reviewer_signs_do_not_change() -> None:
    """Approvals and declines are committed to the repository (approvals/<digest>.yaml)
    and must still verify after accesshive is upgraded: what a signature covers is a
    file format, canonical JSON with sorted keys. A new format needs a new ``purpose``."""
    at = "2026-11-29T10:00:00.000001+00:00"
    assert message("p" * 8, "o1", "c" * 8, "alice", at) == (
        b'{"content_digest":"cccccccc","order":"o1","plan_digest":"pppppppp",'
        b'"purpose":"accesshive-approval-v2","reviewer":"alice",'
        b'"signed_at":"2026-11-29T10:00:00.000001+00:00"}'
    )
    assert decline_message("p" * 8, "o1", "c" * 8, "alice", "not yet", at, False) == (
        b'{"content_digest":"cccccccc","order":"o1","plan_digest":"pppppppp",'
        b'"purpose":"accesshive-decline-v1","reason":"not yet","reviewer":"alice",'
        b'"signed_at":"2026-11-29T10:00:00.000001+00:00"}'
    )
    assert decline_message("p" * 8, "o1", "c" * 8, "alice", "", at, True) == (
        b'{"content_digest":"cccccccc","order":"o1","plan_digest":"pppppppp",'
        b'"purpose":"accesshive-decline-withdrawal-v1","reason":"","reviewer":"alice",'
        b'"signed_at":"2026-11-29T10:00:00.000001+00:00"}'
    )


def test_a_decline_reason_is_one_line_of_at_most_max_reason_characters() -> None:
    assert one_line("  not\nyet,\tplease  ") == "not yet, please"
    assert one_line("x" * MAX_REASON) == "x" * MAX_REASON
    cut = one_line("x" * MAX_REASON + " and more")
    assert cut == "x" * (MAX_REASON - 1) + "…"
    assert len(cut) == MAX_REASON == 500


def test_the_declines_held_on_an_order_read_as_one_line() -> None:
    alice = Decline("p" * 64, "o" * 12, "c" * 64, "alice", "not yet", "2026-11-29")
    bob = Decline("p" * 64, "o" * 12, "c" * 64, "bob", "no budget", "2026-11-30")
    assert describe([alice, bob]) == "declined by alice: not yet; declined by bob: no budget"


def test_a_verdict_names_the_plan_a_carried_approval_was_signed_for() -> None:
    verdict = OrderApproval(
        "o" * 12, 2, ("security",), approvers=["alice", "bob"], carried=[("alice", "a1" * 32)]
    )
    assert verdict.describe() == ("approved by alice (carried from plan a1a1a1a1a1a1), bob")
