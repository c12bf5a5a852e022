"""The bare ldap3 loop accesshive's LDAP connector is compared with, doing the same work.

What accesshive sends for N new accounts with G groups each (``apply.lanes.BATCH`` =
100 orders a batch; ``connectors.ldap``): per batch of 100 creates, one OR search for
the accounts that may already exist (``prepare_creates``), one add each with the RFC
4527 post-read control (the new entry comes back with the add, which verifies it);
then the grants, 100 orders a batch in the order they are released (account by
account): per batch, one modify per group adding the batch's members (``grant_many``)
and one OR search reading those accounts back by entryUUID with ``memberOf``
(``get_accounts``).
``sync=True`` first reads every account and group, a page at a time, as ``accesshive
sync`` does. The bare loop does the same, without accesshive's planning, store or
bookkeeping: the difference is what accesshive costs.

``elsewhere``: the other bases accounts may be under (the bench's source disables by
moving to ``ou=disabled``), asked as accesshive asks them: every base for the "already
there?" look-up (an account found twice is not adopted, so all must be seen), and for
the read-back only for the accounts ``people`` did not hold (none, here); ``read_all``
pages through them too. Bound without reading the server's schema (``get_info=NONE``),
as accesshive's connector binds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ldap3
from ldap3.protocol.rfc4527 import post_read_control
from ldap3.utils.conv import escape_filter_chars

READ = ["entryUUID", "uid", "cn", "sn", "mail"]
_POST_READ = "1.3.6.1.1.13.2"


def _any_of(attribute: str, values: Sequence[str]) -> str:
    return "(&(objectClass=inetOrgPerson)(|{}))".format(
        "".join(f"({attribute}={escape_filter_chars(v)})" for v in values)
    )


def read_all(conn: Any, people: str, groups: str, elsewhere: Sequence[str] = ()) -> int:
    """Every group (grants are their members), then every account, 500 entries a page."""
    seen = 0
    for base, query, attributes in (
        (groups, "(objectClass=groupOfNames)", ["cn", "member"]),
        *((b, "(objectClass=inetOrgPerson)", READ) for b in (people, *elsewhere)),
    ):
        entries = conn.extend.standard.paged_search(
            base, query, attributes=attributes, paged_size=500, generator=True
        )
        seen += sum(1 for e in entries if e.get("type") == "searchResEntry")
    return seen


def bare_writes(
    conn: Any,
    people: str,
    group_dns: Sequence[str],
    uids: Sequence[str],
    *,
    batch: int = 100,
    sync: bool = False,
    groups_base: str = "",
    elsewhere: Sequence[str] = (),
) -> None:
    """Create ``uids`` (each in every group of ``group_dns``) as accesshive does."""
    if sync:
        read_all(conn, people, groups_base, elsewhere)
    ids: dict[str, str] = {}  # uid → entryUUID, as the post-read returned it
    for start in range(0, len(uids), batch):
        chunk = list(uids[start : start + batch])
        for base in (people, *elsewhere):  # already there? (anywhere an account may be)
            conn.search(base, _any_of("uid", chunk), attributes=READ)
        for uid in chunk:
            dn = f"uid={uid},{people}"
            attributes = {"uid": uid, "cn": uid, "sn": uid, "mail": f"{uid}@example.com"}
            conn.add(dn, ["inetOrgPerson"], attributes, controls=[post_read_control(READ, False)])
            if conn.result["result"] != 0:
                raise RuntimeError(f"add {dn}: {conn.result}")
            read = conn.result["controls"][_POST_READ]["value"]["result"]
            ids[uid] = str(read["entryUUID"][0])
    grants = [(uid, group) for uid in uids for group in group_dns]
    for start in range(0, len(grants), batch):
        by_group: dict[str, list[str]] = {}
        for uid, group in grants[start : start + batch]:
            by_group.setdefault(group, []).append(f"uid={uid},{people}")
        for group, dns in by_group.items():
            conn.modify(group, {"member": [(ldap3.MODIFY_ADD, dns)]})
            if conn.result["result"] != 0:
                raise RuntimeError(f"modify {group}: {conn.result}")
        held = sorted({uid for uid, _ in grants[start : start + batch]})
        wanted, found = {ids[uid] for uid in held}, 0
        for base in (people, *elsewhere):  # read back by id; further bases for the missing
            query = _any_of("entryUUID", sorted(wanted))
            conn.search(base, query, attributes=[*READ, "memberOf"])
            entries = [e for e in conn.response if e.get("type") == "searchResEntry"]
            found += len(entries)
            wanted -= {str(e["attributes"]["entryUUID"][0]) for e in entries}
            if not wanted:
                break
        if found != len(held):
            raise RuntimeError(f"read back {found} of {len(held)} accounts")


def main(argv: Sequence[str]) -> None:
    """``python -m tests.bench.ldap_fair URL PEOPLE GROUPS_BASE PREFIX N GROUP,...
    [OTHER_BASE;...]``: the bare loop as a script of its own (bound as
    ``BENCH_LDAP_BIND_DN`` with ``BENCH_LDAP_PASSWORD``), reading everything first as
    ``accesshive sync`` does."""
    import os

    url, people, groups_base, prefix, count, groups, *rest = argv
    elsewhere = [b for b in (rest[0] if rest else "").split(";") if b]
    conn = ldap3.Connection(
        ldap3.Server(url, get_info=ldap3.NONE),
        os.environ["BENCH_LDAP_BIND_DN"],
        os.environ["BENCH_LDAP_PASSWORD"],
        auto_bind=True,
    )
    uids = [f"{prefix}{n:05}" for n in range(int(count))]
    group_dns = [f"cn={g},{groups_base}" for g in groups.split(",")]
    bare_writes(
        conn, people, group_dns, uids, sync=True, groups_base=groups_base, elsewhere=elsewhere
    )
    conn.unbind()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
