"""Review gates in practice: signed approvals, approvals from GitHub pull requests, and
the quorum check apply relies on."""

from accesshive.approvals.model import Approval, OrderApproval, content_digest, evaluate

__all__ = ["Approval", "OrderApproval", "content_digest", "evaluate"]
