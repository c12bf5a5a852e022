"""The merge jobs apply the plan reviewers saw: examples/ci/scripts/fetch-reviewed-plan.py
finds the merged change's own plan (not the latest plan of any change, not an earlier
push's), on GitHub and GitLab, and `merge-apply.sh` applies it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.support import forge_artifacts
from tests.support.forge_artifacts import Forge

SCRIPTS = EXAMPLES / "ci" / "scripts"


def _fetch(forge: str, where: str, api: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        GITHUB_TOKEN="ghs-token",
        GITHUB_API_URL=api,
        GITLAB_API_TOKEN="glpat-token",
        CI_API_V4_URL=f"{api}/api/v4",
    )
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "fetch-reviewed-plan.py"), forge, where, "merge1", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _github(plan: bytes) -> None:
    """Pull request #7 merged as `merge1`; #8's plan is newer; #7 was pushed twice."""
    Forge.data["pulls"]["merge1"] = [
        {"number": 7, "merged_at": "2026-12-07T10:05:00Z", "head": {"sha": "head7"}}
    ]

    def artifact(n: int, pr: int, sha: str, minute: int) -> dict[str, object]:
        return {
            "id": n,
            "name": f"accesshive-plan-{pr}",
            "expired": False,
            "created_at": f"2026-12-07T10:0{minute}:00Z",
            "workflow_run": {"id": 100 + n, "head_sha": sha},
        }

    Forge.data["artifacts"] = [
        artifact(3, 8, "head8", 4),
        artifact(2, 7, "head7", 3),
        artifact(1, 7, "old7", 1),
    ]
    Forge.data["zips"] = {1: b'{"an": "earlier push"}', 2: plan, 3: b'{"another": "change"}'}


def _gitlab(plan: bytes) -> None:
    """Merge request !12 merged as `merge1`: its newest pipeline's plan job failed."""
    Forge.data["merge_requests"]["merge1"] = [{"iid": 12, "state": "merged", "sha": "head12"}]
    Forge.data["pipelines"][12] = [
        {"id": 105, "sha": "head12", "status": "failed"},
        {"id": 104, "sha": "head12", "status": "success"},
        {"id": 103, "sha": "old12", "status": "success"},
    ]
    Forge.data["jobs"] = {
        105: [{"id": 1051, "name": "plan", "status": "failed"}],
        104: [{"id": 1041, "name": "plan", "status": "success"}],
        103: [{"id": 1031, "name": "plan", "status": "success"}],
    }
    Forge.data["job_files"] = {
        1041: {"out/plan.json": plan},
        1031: {"out/plan.json": b'{"an": "earlier push"}'},
    }


@pytest.mark.parametrize(
    ("forge", "where", "number"), [("github", "acme/access", "7"), ("gitlab", "42", "12")]
)
def test_the_merge_job_applies_the_plan_its_change_was_reviewed_with(
    quickstart: Path, tmp_path: Path, forge: str, where: str, number: str
) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    run = {"env": env, "cwd": tmp_path, "capture_output": True, "text": True, "timeout": 300}
    synced = subprocess.run(["accesshive", "sync", str(quickstart)], **run)
    assert synced.returncode == 0, synced.stderr
    reviewed = tmp_path / "pr"
    planned = subprocess.run(
        ["bash", str(SCRIPTS / "pr-plan.sh"), str(quickstart), str(reviewed), "dave"], **run
    )
    assert planned.returncode == 0, planned.stderr
    plan = (reviewed / "plan.json").read_bytes()

    with forge_artifacts.serving() as api:
        (_github if forge == "github" else _gitlab)(plan)
        fetched = _fetch(forge, where, api, tmp_path / "merge" / "plan.json")
        assert fetched.returncode == 0, fetched.stderr
        assert fetched.stdout.strip() == number
        # the reviewed plan, byte for byte: not another change's, not an earlier push's
        assert (tmp_path / "merge" / "plan.json").read_bytes() == plan
        sent = [headers for path, headers in Forge.requests]
        if forge == "github":
            blob = [h for p, h in Forge.requests if p.startswith("/blob/")]
            assert blob and all("authorization" not in h for h in blob)  # token not sent on
            assert all(
                h.get("authorization") == "Bearer ghs-token"
                for p, h in Forge.requests
                if p.startswith("/repos/")
            )
        else:
            assert all(h.get("private-token") == "glpat-token" for h in sent)

    applied = subprocess.run(
        [
            "bash",
            str(SCRIPTS / "merge-apply.sh"),
            str(quickstart),
            str(tmp_path / "merge" / "plan.json"),
        ],
        **run,
    )
    # apply accepts it as the plan `plan` made; its gated orders wait for approval
    assert applied.returncode == 6, applied.stdout + applied.stderr
    assert '"status": "incomplete"' in (tmp_path / "apply.json").read_text()


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_no_plan_from_the_merged_head_is_an_error_that_says_what_to_check(
    tmp_path: Path, forge: str
) -> None:
    out = tmp_path / "plan.json"
    with forge_artifacts.serving() as api:
        (_github if forge == "github" else _gitlab)(b"{}")
        if forge == "github":  # only an earlier push's plan and another change's
            Forge.data["artifacts"] = [a for a in Forge.data["artifacts"] if a["id"] != 2]
        else:  # the head's only pipeline failed its plan job
            Forge.data["pipelines"][12] = Forge.data["pipelines"][12][:1]
        fetched = _fetch(forge, "acme/access", api, out)
    assert fetched.returncode == 1
    if forge == "github":
        assert (
            "pull request #7: no plan artifact 'accesshive-plan-7' from its head commit head7"
            in fetched.stderr
        )
    else:
        assert "merge request !12: no pipeline with a successful 'plan' job" in fetched.stderr
    assert not out.exists()


def test_a_commit_no_change_was_merged_as_is_refused(tmp_path: Path) -> None:
    with forge_artifacts.serving() as api:
        fetched = _fetch("github", "acme/access", api, tmp_path / "plan.json")
    assert fetched.returncode == 1
    assert "no pull request was merged as merge1: nothing reviewed to apply" in fetched.stderr
