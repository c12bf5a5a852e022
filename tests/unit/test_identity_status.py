"""An identity's overall status from its steps: what the status list, `status IDENTITY`
and the console show first. A failure that needs someone to act must never hide behind
a reviewer's decline, and what is only blocked below a decline is not a failure."""

from __future__ import annotations

import pytest

from accesshive.operations.status import overall_status
from accesshive.plan.states import OrderState as S


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], "provisioned"),
        ([S.VERIFIED, S.VERIFIED], "provisioned"),
        ([S.VERIFIED, S.PENDING], "pending"),
        ([S.VERIFIED, S.TRANSMITTED], "pending"),
        ([S.AWAITING_APPROVAL], "pending"),
        ([S.VERIFIED, S.ERRORED], "error"),
        ([S.ERROR], "error"),
        ([S.BLOCKED], "error"),
        # a decline, and what it blocks, is a decision, not a failure
        ([S.DECLINED, S.BLOCKED, S.VERIFIED], "declined"),
        # ... but a step that failed on its own beside it still needs someone
        ([S.DECLINED, S.BLOCKED, S.ERRORED], "error"),
        ([S.ERROR, S.DECLINED], "error"),
    ],
)
def test_overall_status(states: list[S], expected: str) -> None:
    assert overall_status(states) == expected
