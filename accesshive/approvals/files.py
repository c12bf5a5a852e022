"""The approvals file of a plan: ``approvals/<plan-digest>.yaml`` in the config repository.

Committed to the pull request next to the change. It holds the plan's signed approvals
and its signed declines (and their withdrawals). Its content is only evidence: every
entry is checked against the plan and its signature when it is used, so an edited or
forged file approves nothing, and a decline in it that does not verify is refused.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from accesshive.approvals.declines import Decline
from accesshive.approvals.model import Approval
from accesshive.config.yamlio import YamlProblem, parse_file
from accesshive.errors import ApprovalError
from accesshive.repo_paths import link_out_of


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order: str
    content_digest: str
    reviewer: str
    signed_at: str
    signature: str


class _DeclineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order: str
    content_digest: str
    reviewer: str
    reason: str
    signed_at: str
    withdrawn: bool = False
    signature: str | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_digest: str
    approvals: list[_Entry] = []
    declines: list[_DeclineEntry] = []


_DIGEST = re.compile(r"[0-9a-f]{64}")


def approvals_path(root: Path, plan_digest: str) -> Path:
    """Where the plan's approvals are kept, refused when a symbolic link takes it out of
    the repository (``repo_paths``): `approve` would overwrite the link's target, and
    apply would read approvals from anywhere."""
    return _inside(root, root / "approvals" / f"{plan_digest}.yaml")


def approvals_files(root: Path) -> list[Path]:
    """Every plan's approvals file in the repository (``approvals/<plan-digest>.yaml``):
    where declines of earlier plans of the same content are found."""
    folder = _inside(root, root / "approvals")
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.glob("*.yaml") if _DIGEST.fullmatch(p.stem) and not p.is_symlink()
    )


def _inside(root: Path, path: Path) -> Path:
    found = link_out_of(root, path)
    if found:
        link, real = found
        raise ApprovalError(
            f"{link} is a symbolic link out of the repository (to {real}): approvals are "
            "read and written only inside it; remove the link"
        )
    return path


def read_approvals(path: Path) -> list[Approval]:
    return _read(path)[0]


def read_declines(path: Path) -> list[Decline]:
    """The declines (and withdrawals) of an approvals file, each bound to the file's plan
    digest: an entry copied into another plan's file does not verify there."""
    return _read(path)[1]


def _read(path: Path) -> tuple[list[Approval], list[Decline]]:
    if not path.exists():
        return [], []
    try:
        parsed = parse_file(path, str(path))
        data = _File.model_validate(parsed.data or {})
    except YamlProblem as problem:
        raise ApprovalError(f"approvals file {problem.diagnostic.render()}") from problem
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApprovalError(
            f"approvals file {path} is malformed at {where}: {first['msg']}"
        ) from exc
    approvals = [
        Approval(
            plan_digest=data.plan_digest,
            order=e.order,
            content_digest=e.content_digest,
            reviewer=e.reviewer,
            signed_at=e.signed_at,
            signature=e.signature,
        )
        for e in data.approvals
    ]
    declines = [
        Decline(
            plan_digest=data.plan_digest,
            order=e.order,
            content_digest=e.content_digest,
            reviewer=e.reviewer,
            reason=e.reason,
            signed_at=e.signed_at,
            withdrawn=e.withdrawn,
            signature=e.signature,
            evidence=str(path),
        )
        for e in data.declines
    ]
    return approvals, declines


def write_approvals(path: Path, plan_digest: str, approvals: list[Approval]) -> None:
    """Add approvals to the file, keeping earlier entries; one entry per (reviewer, order)."""
    _write(path, plan_digest, approvals, [])


def write_declines(path: Path, plan_digest: str, declines: list[Decline]) -> None:
    """Add declines or withdrawals to the file, keeping earlier entries; one entry per
    (reviewer, order): a reviewer's new statement on an order replaces their older one,
    and a decline removes the reviewer's own approval of the order."""
    _write(path, plan_digest, [], declines)


def _write(
    path: Path, plan_digest: str, approvals: list[Approval], declines: list[Decline]
) -> None:
    old_approvals, old_declines = _read(path)
    merged: dict[tuple[str, str], Approval] = {}
    for a in [*old_approvals, *approvals]:
        merged[(a.reviewer, a.order)] = a
    for d in declines:
        # a reviewer who declines what they approved takes the approval back: removed
        # here, it cannot come back when the decline is withdrawn or deleted
        if not d.withdrawn:
            merged.pop((d.reviewer, d.order), None)
    said: dict[tuple[str, str], Decline] = {}
    for d in [*old_declines, *declines]:
        said[(d.reviewer, d.order)] = d
    body: dict[str, object] = {
        "plan_digest": plan_digest,
        "approvals": [
            {
                "order": a.order,
                "content_digest": a.content_digest,
                "reviewer": a.reviewer,
                "signed_at": a.signed_at,
                # the armored SSH signature, as ssh-keygen wrote it
                "signature": LiteralScalarString(a.signature or ""),
            }
            for _, a in sorted(merged.items())
        ],
    }
    if said:
        body["declines"] = [
            {
                "order": d.order,
                "content_digest": d.content_digest,
                "reviewer": d.reviewer,
                "reason": d.reason,
                "signed_at": d.signed_at,
                **({"withdrawn": True} if d.withdrawn else {}),
                "signature": LiteralScalarString(d.signature or ""),
            }
            for _, d in sorted(said.items())
        ]
    out = io.StringIO()
    out.write(
        f"# Signed approvals and declines of plan {plan_digest[:16]}; made by "
        "`accesshive approve` and `accesshive decline`.\n"
    )
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # a digest stays on its key's line; a long reason is not folded
    yaml.dump(body, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")
