"""``accesshive import scim URL``: read a directory's Users and Groups over SCIM 2.0 (for
directories that cannot push), as the same records a push would leave."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from accesshive.errors import ImportProblem


def _pages(http: httpx.Client, endpoint: str, count: int = 100) -> Iterator[dict[str, Any]]:
    start, seen = 1, 0
    while True:
        try:
            response = http.get(endpoint, params={"startIndex": start, "count": count})
        except httpx.HTTPError as exc:
            raise ImportProblem(f"cannot read {endpoint}: {exc}") from exc
        if response.status_code != 200:
            raise ImportProblem(f"{endpoint}: HTTP {response.status_code} {response.text[:200]}")
        body = response.json()
        resources = body.get("Resources", []) or []
        yield from resources
        seen += len(resources)
        total = int(body.get("totalResults", seen))
        if not resources or seen >= total:
            if seen != total:
                raise ImportProblem(
                    f"{endpoint}: the server announced {total} resources but {seen} were read"
                )
            return
        start += len(resources)


def pull_records(url: str, token: str | None) -> list[tuple[str, str, str]]:
    headers = {"Accept": "application/scim+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    out: list[tuple[str, str, str]] = []
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30) as http:
        for kind, endpoint in (("User", "/Users"), ("Group", "/Groups")):
            for resource in _pages(http, endpoint):
                out.append((kind, str(resource["id"]), json.dumps(resource)))
    return out
