#!/usr/bin/env python3
"""Merge job: fetch the plan that reviewers saw on the change just merged.

Usage:
  fetch-reviewed-plan.py github OWNER/REPO MERGE_SHA OUT_FILE   (token: GITHUB_TOKEN)
  fetch-reviewed-plan.py gitlab PROJECT_ID MERGE_SHA OUT_FILE   (token: GITLAB_API_TOKEN)

Prints the pull/merge request's number. The plan must come from the change that was
merged, from its latest successful plan job: the latest plan of *any* pull request
would be another change's plan (refused by apply at best, and a confusing failure).

Why not re-plan on main instead: approvals are signed over the digest of the plan the
reviewers saw, with its author; a plan made again at merge time is a different plan,
and no approval of the review would count for it.

The plan file is not trusted for what it says: `accesshive apply` decides every gate
from the policies in force and refuses a plan that `plan` did not make from the same
configuration and snapshot. This script only has to find the right one.

Only the standard library: it runs on the CI image before anything is installed.
"""

from __future__ import annotations

import io
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from typing import Any

PLAN_JOB = "plan"  # the GitLab job that writes out/plan.json
PLAN_PATH = "out/plan.json"


class NotFound(Exception):
    """The merged change, its plan job or its plan file cannot be found."""


def _get(url: str, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(url)
    for name, value in headers.items():
        # not sent on: GitHub redirects artifact downloads to blob storage, which must
        # not receive (and rejects) the API token
        request.add_unredirected_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as error:
        raise NotFound(f"GET {url}: HTTP {error.code}") from None


def _json(url: str, headers: dict[str, str]) -> Any:
    return json.loads(_get(url, headers))


def github(repo: str, sha: str) -> tuple[int, bytes]:
    """The plan artifact uploaded by the merged pull request's latest plan run."""
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    pulls = _json(f"{api}/repos/{repo}/commits/{sha}/pulls", headers)
    merged = [p for p in pulls if p.get("merged_at")] or pulls
    if not merged:
        raise NotFound(f"no pull request was merged as {sha}: nothing reviewed to apply")
    number, head = merged[0]["number"], merged[0]["head"]["sha"]
    name = f"accesshive-plan-{number}"
    query = urllib.parse.urlencode({"name": name, "per_page": 100})
    listed = _json(f"{api}/repos/{repo}/actions/artifacts?{query}", headers)
    artifacts = [
        a for a in listed["artifacts"] if not a["expired"] and a["workflow_run"]["head_sha"] == head
    ]
    if not artifacts:
        raise NotFound(
            f"pull request #{number}: no plan artifact {name!r} from its head commit "
            f"{head[:12]} (did its plan job succeed on its last push? has it expired?)"
        )
    newest = max(artifacts, key=lambda a: (a["created_at"], a["id"]))
    archive = _get(f"{api}/repos/{repo}/actions/artifacts/{newest['id']}/zip", headers)
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        return number, zipped.read("plan.json")


def gitlab(project: str, sha: str) -> tuple[int, bytes]:
    """out/plan.json of the `plan` job of the merged merge request's latest good pipeline."""
    api = os.environ["CI_API_V4_URL"].rstrip("/")
    headers = {"PRIVATE-TOKEN": os.environ["GITLAB_API_TOKEN"]}
    base = f"{api}/projects/{urllib.parse.quote(project, safe='')}"
    requests = _json(f"{base}/repository/commits/{sha}/merge_requests", headers)
    merged = [r for r in requests if r.get("state") == "merged"] or requests
    if not merged:
        raise NotFound(f"no merge request was merged as {sha}: nothing reviewed to apply")
    iid, head = merged[0]["iid"], merged[0]["sha"]
    pipelines = _json(f"{base}/merge_requests/{iid}/pipelines", headers)
    # newest first; a merged-results pipeline runs on a merge commit, not the head
    ordered = sorted(pipelines, key=lambda p: (p["sha"] != head, -p["id"]))
    for pipeline in ordered:
        jobs = _json(f"{base}/pipelines/{pipeline['id']}/jobs?scope[]=success", headers)
        plans = [j for j in jobs if j["name"] == PLAN_JOB and j["status"] == "success"]
        if plans:
            job = max(plans, key=lambda j: j["id"])
            return iid, _get(f"{base}/jobs/{job['id']}/artifacts/{PLAN_PATH}", headers)
    raise NotFound(
        f"merge request !{iid}: no pipeline with a successful {PLAN_JOB!r} job "
        "(did its plan job succeed? have its artifacts expired?)"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in ("github", "gitlab"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    forge, where, sha, out = argv
    try:
        number, plan = (github if forge == "github" else gitlab)(where, sha)
    except NotFound as error:
        print(f"fetch-reviewed-plan: {error}", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "wb") as file:
        file.write(plan)
    print(number)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
