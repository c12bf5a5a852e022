"""What approval records show of themselves: JSON without empty fields or signatures,
and the one-line verdict a reviewer reads."""

from __future__ import annotations

from accesshive.approvals import Approval, OrderApproval
from accesshive.approvals.declines import Decline

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
