"""Two ``scim serve`` processes (replicas) on one PostgreSQL store serve the same data:
what one is pushed the other answers with, and concurrent pushes to both neither
duplicate a user nor lose a group member."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from accesshive.store import open_store
from tests.support.scim_serve import GROUP, PATCH, Served, make_repo, scim_serve, token, user


@pytest.fixture
def replicas(tmp_path: Path, postgres_db: str) -> Iterator[tuple[Served, Served, str, Path]]:
    repo = make_repo(tmp_path / "quickstart")
    bearer = token(repo, store=postgres_db)
    with scim_serve(repo, store=postgres_db) as a, scim_serve(repo, store=postgres_db) as b:
        yield a, b, bearer, repo
        assert a.terminate() == 0 and b.terminate() == 0
    with open_store(repo, "default", postgres_db) as store:
        records = store.records("okta")
    names = [json.loads(body).get("userName") for kind, _, body in records if kind == "User"]
    assert len(names) == len(set(names))  # never a duplicate, whatever the test did


def _client(served: Served, bearer: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/scim+json"}
    return httpx.Client(base_url=served.url, headers=headers)


def test_a_push_to_one_replica_is_served_by_the_other(
    replicas: tuple[Served, Served, str, Path],
) -> None:
    a, b, bearer, _ = replicas
    with _client(a, bearer) as on_a, _client(b, bearer) as on_b:
        created = on_a.post("/Users", json=user("kay.jones", title="Engineering"))
        assert created.status_code == 201, created.text
        uid = created.json()["id"]
        assert on_b.get(f"/Users/{uid}").json()["userName"] == "kay.jones@quickstart.example"
        found = on_b.get("/Users", params={"filter": 'userName eq "KAY.JONES@quickstart.example"'})
        assert [r["id"] for r in found.json()["Resources"]] == [uid]
        patched = on_b.patch(
            f"/Users/{uid}",
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "title", "value": "Sales"}],
            },
        )
        assert patched.status_code in (200, 204), patched.text
        again = on_a.get(f"/Users/{uid}").json()
        assert again["title"] == "Sales"
        assert again["meta"]["version"] != created.json()["meta"]["version"]
        # the version one replica gave is the one the other checks If-Match against
        stale = on_a.put(
            f"/Users/{uid}",
            json=user("kay.jones", title="Legal"),
            headers={"If-Match": created.json()["meta"]["version"]},
        )
        assert stale.status_code == 412
        assert on_b.delete(f"/Users/{uid}").status_code == 204
        assert on_a.get(f"/Users/{uid}").status_code == 404


def test_the_same_user_name_pushed_to_both_at_once_is_created_once(
    replicas: tuple[Served, Served, str, Path],
) -> None:
    a, b, bearer, _ = replicas
    rounds = 8
    answers: list[list[int]] = [[] for _ in range(rounds)]
    barrier = threading.Barrier(2)

    def push(served: Served) -> None:
        with _client(served, bearer) as scim:
            for n in range(rounds):
                barrier.wait()
                answer = scim.post("/Users", json=user(f"twin.n{n}"))
                answers[n].append(answer.status_code)
                if answer.status_code == 409:
                    assert answer.json()["scimType"] == "uniqueness"

    threads = [threading.Thread(target=push, args=(s,)) for s in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [sorted(codes) for codes in answers] == [[201, 409]] * rounds


def test_members_added_through_both_replicas_at_once_are_all_kept(
    replicas: tuple[Served, Served, str, Path],
) -> None:
    """Each PATCH reads the group and writes it back; the read and the write are one
    transaction under the store's writer lock, so no replica overwrites the other's."""
    a, b, bearer, _ = replicas
    with _client(a, bearer) as on_a:
        ids = [on_a.post("/Users", json=user(f"m.n{n}")).json()["id"] for n in range(12)]
        gid = on_a.post("/Groups", json={"schemas": [GROUP], "displayName": "Admins"}).json()["id"]
    barrier = threading.Barrier(len(ids))
    failures: list[str] = []

    def add(n: int) -> None:
        with _client((a, b)[n % 2], bearer) as scim:
            barrier.wait()
            answer = scim.patch(
                f"/Groups/{gid}",
                json={
                    "schemas": [PATCH],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[n]}]}],
                },
            )
            if answer.status_code not in (200, 204):
                failures.append(answer.text)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(len(ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with _client(b, bearer) as on_b:
        members = {m["value"] for m in on_b.get(f"/Groups/{gid}").json()["members"]}
    assert members == set(ids)
