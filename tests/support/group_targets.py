"""The targets of the managed-group tests (tests/integration/test_managed_groups.py):
scim2-server, slapd and the Google Workspace stand-in, each with the source a repository
declares for it and a look at its groups behind accesshive's back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tests.support import slapd as slapd_mod
from tests.support.gws_standin import GoogleStandIn
from tests.support.scim_server import ScimServer

PEOPLE = ("ada", "alan")
"""The identities the tests declare (and, on Google Workspace, whose users exist)."""


@dataclass(frozen=True, order=True)
class Group:
    id: str
    name: str
    members: tuple[str, ...]
    """The names (userName, uid) of the accounts in it."""


class Target(Protocol):
    staff: str
    """The unmanaged entitlement's id (it must exist on the target, as always)."""
    oncall: str
    """The managed entitlement's id."""

    def source(self) -> dict[str, Any]: ...
    def groups(self) -> list[Group]: ...
    def add_group(self, name: str, members: tuple[str, ...] = ()) -> None: ...
    def add_member(self, group: Group, user: str) -> None: ...
    def add_user(self, name: str) -> None: ...


class ScimTarget:
    staff, oncall = "staff", "oncall"

    def __init__(self, server: ScimServer) -> None:
        self.server = server

    def source(self) -> dict[str, Any]:
        return {
            "kind": "scim",
            "connection": {"base_url": self.server.url, "token": "${env:GROUPS_SCIM_TOKEN}"},
            "account": {
                "name_attribute": "userName",
                "schema": {"userName": {"type": "string", "required": True}},
                "create": {"userName": "{{ id }}"},
                "correlation": ["userName"],
            },
        }

    def _users(self) -> dict[str, str]:
        found = self.server.http().get("Users", params={"count": 100}).json()
        return {u["id"]: u["userName"] for u in found.get("Resources", [])}

    def groups(self) -> list[Group]:
        users = self._users()
        found = self.server.http().get("Groups", params={"count": 100}).json()
        return sorted(
            Group(
                g["id"],
                g["displayName"],
                tuple(sorted(users.get(m["value"], m["value"]) for m in g.get("members", []))),
            )
            for g in found.get("Resources", [])
        )

    def add_user(self, name: str) -> None:
        self.server.create_user(name)

    def add_group(self, name: str, members: tuple[str, ...] = ()) -> None:
        ids = {v: k for k, v in self._users().items()}
        self.server.create_group(name, [ids[m] for m in members])

    def add_member(self, group: Group, user: str) -> None:
        users = {v: k for k, v in self._users().items()}
        self.server.patch(
            "Groups", group.id, {"op": "add", "path": "members", "value": [{"value": users[user]}]}
        )


class LdapTarget:
    staff, oncall = "staff", "oncall"

    def __init__(self, server: slapd_mod.Slapd) -> None:
        self.server = server

    def source(self) -> dict[str, Any]:
        return {
            "kind": "ldap",
            "connection": {
                "url": self.server.url,
                "bind_dn": slapd_mod.ADMIN_DN,
                "bind_password": "${env:GROUPS_LDAP_PASSWORD}",
                "users_dn": slapd_mod.PEOPLE,
                "groups_dn": slapd_mod.GROUPS,
                "empty_group_member": slapd_mod.NOBODY,
            },
            "account": {
                "name_attribute": "uid",
                "schema": {
                    "uid": {"type": "string", "required": True},
                    "cn": {"type": "string", "required": True},
                    "sn": {"type": "string", "required": True},
                },
                "create": {"uid": "{{ id }}", "cn": "{{ id }}", "sn": "{{ id }}"},
                "correlation": ["uid"],
            },
        }

    def groups(self) -> list[Group]:
        ldap3 = slapd_mod.ldap3_module()
        conn = self.server.admin()
        try:
            conn.search(
                slapd_mod.GROUPS,
                "(objectClass=groupOfNames)",
                ldap3.LEVEL,
                attributes=["cn", "member", "entryUUID"],
            )
            out = []
            for item in conn.response:
                raw = item["raw_attributes"]
                members = [m.decode() for m in raw.get("member", [])]
                uids = tuple(
                    sorted(
                        m.split(",")[0].split("=", 1)[1]
                        for m in members
                        if m.lower() != slapd_mod.NOBODY.lower()
                    )
                )
                name = raw["cn"][0].decode()
                if name not in slapd_mod.GROUP_NAMES:  # the fixture's own groups
                    out.append(Group(raw["entryUUID"][0].decode(), name, uids))
            return sorted(out)
        finally:
            conn.unbind()

    def add_user(self, name: str) -> None:
        self.server.add(
            f"uid={name},{slapd_mod.PEOPLE}",
            ["inetOrgPerson"],
            {"uid": name, "cn": name, "sn": name},
        )

    def add_group(self, name: str, members: tuple[str, ...] = ()) -> None:
        if name in slapd_mod.GROUP_NAMES:
            return  # the fixture made it
        dns = [f"uid={m},{slapd_mod.PEOPLE}" for m in members] or [slapd_mod.NOBODY]
        self.server.add(
            f"cn={name},{slapd_mod.GROUPS}", ["groupOfNames"], {"cn": name, "member": dns}
        )

    def add_member(self, group: Group, user: str) -> None:
        ldap3 = slapd_mod.ldap3_module()
        self.server.modify(
            f"cn={group.name},{slapd_mod.GROUPS}",
            {"member": [(ldap3.MODIFY_ADD, [f"uid={user},{slapd_mod.PEOPLE}"])]},
        )


class GoogleTarget:
    staff, oncall = "staff@acme.example", "oncall@acme.example"

    def __init__(self, api: GoogleStandIn) -> None:
        self.api = api
        for person in PEOPLE:  # domain users exist; accesshive adopts them by email
            api.create_user(f"{person}@acme.example")

    def source(self) -> dict[str, Any]:
        return {
            "kind": "google_workspace",
            "connection": {
                "base_url": self.api.url,
                "token": "${env:GROUPS_GWS_TOKEN}",
                "customer_id": "C0groups",
            },
            "account": {
                "name_attribute": "primaryEmail",
                "schema": {"primaryEmail": {"type": "email", "required": True}},
                "create": {"primaryEmail": "{{ id }}@acme.example"},
                "correlation": ["primaryEmail"],
            },
        }

    def groups(self) -> list[Group]:
        with self.api.lock:
            state = self.api.state
            return sorted(
                Group(
                    gid,
                    g["name"],
                    tuple(
                        sorted(
                            state.users[uid]["primaryEmail"].split("@")[0]
                            for uid in state.members[gid]
                        )
                    ),
                )
                for gid, g in state.groups.items()
            )

    def add_user(self, name: str) -> None:
        self.api.create_user(f"{name}@acme.example")

    def add_group(self, name: str, members: tuple[str, ...] = ()) -> None:
        email = self.staff if name == "staff" else self.oncall
        gid = self.api.add_group(email, name)
        for member in members:
            self.add_member(Group(gid, name, ()), member)

    def add_member(self, group: Group, user: str) -> None:
        found = self.api.user(f"{user}@acme.example")
        assert found is not None
        with self.api.lock:
            self.api.state.members[group.id][found["id"]] = "MEMBER"
