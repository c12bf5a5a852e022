"""``sync`` reads its sources at once (one thread each), yet stores what a sequential sync
stores: the same snapshots, in the same order, each source all or nothing.

On examples/acme against real targets (slapd, scim2-server, the Google Workspace
stand-in, the SQL and manual sources, the vault), into a PostgreSQL store: a sequential
sync (``readers=1``) into one database and a parallel one into another give the same
rows (ids, sources, fingerprints, account counts, content but for the read time). Then
the SCIM server is really stopped: the parallel sync stores every other source, and
for the stopped one nothing, saying why, its earlier snapshot still the latest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

from accesshive.config import load_config
from accesshive.store import open_store
from accesshive.sync import sync
from tests.integration.test_acme_end_to_end import acme, servers
from tests.support import slapd as slapd_mod
from tests.support.postgres import fresh_database
from tests.support.scim_server import ScimServer

__all__ = ["acme", "servers"]  # fixtures

SEEDED = 12


def _rows(url: str) -> list[tuple[Any, ...]]:
    """The snapshots as stored, the read time left out of their content."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, source, fingerprint, accounts, content FROM snapshots ORDER BY id"
        ).fetchall()
    out = []
    for id_, source, fingerprint, accounts, content in rows:
        body = json.loads(content)
        body.pop("read_at", None)
        out.append((id_, source, fingerprint, accounts, body))
    return out


def test_parallel_sync_stores_what_a_sequential_one_does_and_a_failed_read_stores_nothing(
    acme: Path, servers: dict[str, Any], postgres_url: str
) -> None:
    config = load_config(acme, "local")
    scim, ldap = servers["scim"], servers["ldap"]
    for n in range(SEEDED):  # accounts on the two remote targets, for the reads to carry
        scim.create_user(f"seeded{n:02d}@acme.example", displayName=f"Seeded {n}")
        ldap.add(
            f"uid=seeded{n:02d},{slapd_mod.PEOPLE}",
            ["inetOrgPerson"],
            {"uid": f"seeded{n:02d}", "cn": f"Seeded {n}", "sn": "Seeded"},
        )
    one_by_one = fresh_database(postgres_url, "sync_sequential")
    at_once = fresh_database(postgres_url, "sync_parallel")
    with open_store(acme, url=one_by_one) as store:
        sequential = sync(config, store, readers=1)
    with open_store(acme, url=at_once) as store:
        parallel = sync(config, store)
    assert [r.source for r in parallel] == sorted(config.sources)
    assert all(r.ok for r in parallel), [r for r in parallel if not r.ok]
    strip = [(r.source, r.accounts, r.grants, r.fingerprint) for r in sequential]
    assert [(r.source, r.accounts, r.grants, r.fingerprint) for r in parallel] == strip
    assert _rows(at_once) == _rows(one_by_one)
    counts = {source: accounts for _, source, _, accounts, _ in _rows(at_once)}
    assert counts["figma"] == SEEDED and counts["corp-ldap"] >= SEEDED, counts

    assert isinstance(scim, ScimServer)
    before = {r.source: r.fingerprint for r in parallel}
    scim.running.stop()  # really stopped: nothing listens on its port any more
    with open_store(acme, url=at_once) as store:
        again = {r.source: r for r in sync(config, store)}
        latest = {i.source: i for i in store.snapshot_info()}
    figma = again["figma"]
    assert not figma.ok and figma.error and figma.kept == latest["figma"].read_at
    assert latest["figma"].fingerprint == before["figma"]
    assert all(r.ok for sid, r in again.items() if sid != "figma")
    stored = [source for _, source, *_ in _rows(at_once)]
    assert stored.count("figma") == 1  # nothing of the failed read was stored
    assert len(stored) == 2 * len(config.sources) - 1
