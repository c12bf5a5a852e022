"""The approvals file of a plan: ``approvals/<plan-digest>.yaml`` in the config repository.

Committed to the pull request next to the change. Its content is only
evidence: every entry is checked against the plan and its signature when it
is used, so an edited or forged file approves nothing.
"""

from __future__ import annotations

import io
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

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


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_digest: str
    approvals: list[_Entry] = []


def approvals_path(root: Path, plan_digest: str) -> Path:
    """Where the plan's approvals are kept, refused when a symbolic link takes it out of
    the repository (``repo_paths``): `approve` would overwrite the link's target, and
    apply would read approvals from anywhere."""
    path = root / "approvals" / f"{plan_digest}.yaml"
    found = link_out_of(root, path)
    if found:
        link, real = found
        raise ApprovalError(
            f"{link} is a symbolic link out of the repository (to {real}): approvals are "
            "read and written only inside it; remove the link"
        )
    return path


def read_approvals(path: Path) -> list[Approval]:
    if not path.exists():
        return []
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
    return [
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


def write_approvals(path: Path, plan_digest: str, approvals: list[Approval]) -> None:
    """Write the file, keeping earlier entries; one entry per (reviewer, order)."""
    merged: dict[tuple[str, str], Approval] = {}
    for a in [*read_approvals(path), *approvals]:
        merged[(a.reviewer, a.order)] = a
    body = {
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
    out = io.StringIO()
    out.write(f"# Signed approvals of plan {plan_digest[:16]}; made by `accesshive approve`.\n")
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.dump(body, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(out.getvalue(), encoding="utf-8")
