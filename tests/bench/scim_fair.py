"""The bare SCIM clients accesshive is compared with, doing the same work it does.

Writes (``bare_writes``): accesshive's apply sends its account orders in batches of
``apply.lanes.BATCH`` (100 orders): each create is one POST (the target answers with
the new User, which verifies it); the grants, released once their account is verified,
go 100 orders a batch too, and a batch's grants of one Group are one PATCH
(``apply.batch``, ``connectors.scim._grants.grant_many``): with 3 groups, a PATCH per
Group per 33 or 34 accounts. The bare loop sends exactly those writes, then reads back
each account (GET /Users/{id}) and each Group (GET /Groups/{id}) once, which is what a
careful script does to know its writes took.

Sync (``python -m tests.bench.scim_fair sync URL TOKEN PAGE``): pages /Users and
/Groups with httpx and validates each resource with scim2-models, in a process of its
own so that its CPU (interpreter and imports included, as accesshive's CLI pays them)
is measured the same way as ``accesshive sync``'s.

The server (``serve_script``) counts the requests it answers, by method and endpoint,
so the bench can show that both clients sent the same kinds and numbers of requests.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

SERVE = """
import collections, json, sys
import tests.support.scim_server as s
counts = collections.Counter()
_init = s._Running.__init__
def _counting(self, app):
    def counted(environ, start_response):
        parts = environ["PATH_INFO"].split("/v2/", 1)[-1].strip("/").split("/")
        kind = parts[0] + ("/{id}" if len(parts) > 1 else "")
        if environ.get("QUERY_STRING", "").find("filter=") >= 0:
            kind += "?filter"
        counts[environ["REQUEST_METHOD"] + " " + kind] += 1
        return app(environ, start_response)
    _init(self, counted)
s._Running.__init__ = _counting
with s.scim_server() as server:
    print(json.dumps({"url": server.url, "token": server.token}), flush=True)
    sys.stdin.read()
with open(sys.argv[1], "w") as out:
    json.dump(dict(sorted(counts.items())), out)
"""
"""``python -c SERVE COUNTS_FILE``: scim2-server until stdin closes, then the counts."""


def bare_writes(http: Any, accounts: int, group_ids: Sequence[str], batch: int = 100) -> None:
    """POST each user; then the grants, ``batch`` of them at a time in the order apply
    releases them (account by account, each account's groups together), each batch's
    grants of one Group one PATCH; then read back each user and each Group once."""
    created: list[str] = []
    for n in range(accounts):
        body = {
            "schemas": [USER],
            "userName": f"b{n:05}",
            "active": True,
            "displayName": f"b{n:05}",
            "emails": [{"value": f"b{n}@example.com", "primary": True}],
        }
        answer = http.post("/Users", json=body)
        answer.raise_for_status()
        created.append(answer.json()["id"])
    grants = [(uid, gid) for uid in created for gid in group_ids]
    for start in range(0, len(grants), batch):
        by_group: dict[str, list[dict[str, str]]] = {}
        for uid, gid in grants[start : start + batch]:
            by_group.setdefault(gid, []).append({"value": uid})
        for gid, members in by_group.items():
            operation = {"op": "add", "path": "members", "value": members}
            body = {"schemas": [PATCH], "Operations": [operation]}
            http.patch(f"/Groups/{gid}", json=body).raise_for_status()
    for uid in created:
        http.get(f"/Users/{uid}").raise_for_status()
    for gid in group_ids:
        http.get(f"/Groups/{gid}").raise_for_status()


def bare_sync(url: str, token: str, page: int) -> int:
    """Every User and Group, a page at a time, each validated with scim2-models."""
    import httpx
    from scim2_models import Group, User

    headers = {"Authorization": f"Bearer {token}"}
    seen = 0
    with httpx.Client(base_url=url, headers=headers) as http:
        for endpoint, model in (("/Users", User), ("/Groups", Group)):
            start = 1
            while True:
                answer = http.get(endpoint, params={"startIndex": start, "count": page})
                answer.raise_for_status()
                resources = answer.json().get("Resources") or []
                for resource in resources:
                    model.model_validate(resource)
                seen += len(resources)
                if not resources or start + len(resources) > answer.json()["totalResults"]:
                    break
                start += len(resources)
    return seen


if __name__ == "__main__":
    if sys.argv[1:2] == ["sync"]:
        print(bare_sync(sys.argv[2], sys.argv[3], int(sys.argv[4])))
