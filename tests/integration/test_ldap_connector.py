"""The ldap connector against a real OpenLDAP server: what is particular to directories
(the contract suite covers the obligations every connector shares)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accesshive.connectors.base import ConnectorContext, Created
from accesshive.connectors.ldap import LdapConnector
from accesshive.connectors.ldap._dn import normalize_dn, parse_dn, split_rdn
from accesshive.errors import ConnectorError
from tests.support import slapd
from tests.support.targets.ldap import PASSWORD_VARIABLE, account, context, ldap_source

ldap3 = slapd.ldap3_module()


@pytest.fixture
def server() -> Iterator[slapd.Slapd]:
    slapd.require()
    with slapd.slapd_server() as running:
        yield running


@pytest.fixture
def make(server: slapd.Slapd, tmp_path: Path) -> Iterator[Any]:
    opened: list[LdapConnector] = []

    def make(url: str | None = None, **extra: Any) -> LdapConnector:
        conn = LdapConnector("corp", ldap_source(url or server.url, **extra), context(tmp_path))
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()


def _all(conn: LdapConnector) -> list[Any]:
    return [a for page in conn.read() for a in page.accounts]


def _uuid(server: slapd.Slapd, dn: str) -> str:
    found = server.entry(dn, "entryUUID")
    assert found is not None
    return found["entryuuid"][0]


def _add_person(server: slapd.Slapd, uid: str, **extra: Any) -> str:
    dn = f"uid={uid},{slapd.PEOPLE}"
    server.add(dn, ["inetOrgPerson"], {"uid": uid, "cn": uid, "sn": uid, **extra})
    return dn


# ----------------------------------------------------------------------------- create


def test_create_writes_the_entry_under_users_dn_with_the_identity_link(
    server: slapd.Slapd, make: Any
) -> None:
    conn = make()
    created = conn.create_account("ada", account(1), True)
    dn = f"uid=user0001,{slapd.PEOPLE}"
    entry = server.entry(dn, "*", "entryUUID")
    assert entry is not None
    assert entry["entryuuid"] == [created.external_id]
    assert entry["accesshiveidentity"] == ["ada"]
    assert sorted(entry["objectclass"]) == ["accesshiveAccount", "inetOrgPerson"]
    got = conn.get_account(created.external_id)
    assert got is not None
    assert got.identity == "ada"
    assert got.attributes == account(1)


def test_adopts_an_entry_created_by_hand(server: slapd.Slapd, make: Any) -> None:
    uuid = _uuid(server, _add_person(server, "user0002", mail="u2@example.com"))
    created = make().create_account("bob", account(2), True)
    assert created == Created(uuid, adopted=True)


def test_adopts_on_entry_already_exists(
    server: slapd.Slapd, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent creator wins between the correlation search and the add."""
    conn = make()
    calls: list[Any] = []
    real_find = conn.accounts._find

    def racing_find(attributes: Any) -> Any:
        calls.append(attributes)
        if len(calls) == 1:  # the pre-check misses; then the entry appears
            _add_person(server, "user0003")
            return None
        return real_find(attributes)

    monkeypatch.setattr(conn.accounts, "_find", racing_find)
    created = conn.create_account("carol", account(3), True)
    assert created.adopted
    assert created.external_id == _uuid(server, f"uid=user0003,{slapd.PEOPLE}")


def test_an_entry_in_the_way_that_is_not_an_account_is_not_adopted(
    server: slapd.Slapd, make: Any
) -> None:
    server.add(f"uid=user0004,{slapd.PEOPLE}", ["account"], {"uid": "user0004"})
    with pytest.raises(ConnectorError) as info:
        make().create_account("dan", account(4), True)
    assert "entryAlreadyExists" in info.value.message
    assert not info.value.retryable


def test_an_ambiguous_correlation_is_not_adopted(server: slapd.Slapd, make: Any) -> None:
    for uid in ("twin1", "twin2"):
        _add_person(server, uid, mail="twin@example.com")
    spec = {
        "name_attribute": "uid",
        "schema": {"uid": {}, "cn": {}, "sn": {}, "mail": {}},
        "create": {"uid": "{{ id }}"},
        "sync": {"cn": "x", "sn": "x", "mail": "x"},
        "correlation": ["mail"],
    }
    conn = make(account=spec)
    attrs = {"uid": "twin3", "cn": "T", "sn": "T", "mail": "twin@example.com"}
    created = conn.create_account("twin", attrs, True)
    assert not created.adopted
    assert len(_all(conn)) == 3


def test_an_entry_linked_to_another_identity_is_not_adopted(server: slapd.Slapd, make: Any) -> None:
    conn = make()
    conn.create_account("jose1", account(23), True)
    with pytest.raises(ConnectorError, match="belongs to identity 'jose1'") as info:
        conn.create_account("jose2", account(23), True)
    assert not info.value.retryable
    again = conn.create_account("jose1", account(23), True)
    assert again.adopted


def test_object_guid_ids_are_searched_as_bytes(tmp_path: Path) -> None:
    source = ldap_source("ldap://127.0.0.1:1", id_attribute="objectGUID")
    conn = LdapConnector("ad", source, context(tmp_path))
    guid = "01020304-0506-0708-090a-0b0c0d0e0f10"
    assert conn.entries.id_filter(guid) == (
        r"(objectGUID=\04\03\02\01\06\05\08\07\09\0a\0b\0c\0d\0e\0f\10)"
    )
    assert conn.entries.id_filter("not-a-guid") is None


def test_settings_are_read_once_and_shared(tmp_path: Path) -> None:
    """Every collaborator reads the one settings object, and nothing can change it after
    its checks ran (a later write would bypass them)."""
    conn = LdapConnector("corp", ldap_source("ldap://127.0.0.1:1"), context(tmp_path))
    parts = (conn.transport, conn.search, conn.entries, conn.grants, conn.reader)
    assert all(part.settings is conn.settings for part in (*parts, conn.accounts, conn.groups))
    with pytest.raises(AttributeError, match="read once"):
        conn.settings.users_dn = "ou=elsewhere,dc=example,dc=com"
    assert conn.settings.users_dn == ldap_source("ldap://127.0.0.1:1").connection["users_dn"]


# ----------------------------------------------------------------------------- rename


def test_rename_is_a_modrdn_that_keeps_the_entry_uuid_and_groups(
    server: slapd.Slapd, make: Any
) -> None:
    conn = make()
    ext = conn.create_account("ada", account(5), True).external_id
    conn.grant(ext, "staff")
    conn.update_account(ext, {"uid": "ada.lovelace", "displayName": "Ada Lovelace"})
    assert server.entry(f"uid=user0005,{slapd.PEOPLE}") is None
    new_dn = f"uid=ada.lovelace,{slapd.PEOPLE}"
    entry = server.entry(new_dn, "uid", "displayName", "entryUUID")
    assert entry == {
        "uid": ["ada.lovelace"],
        "displayname": ["Ada Lovelace"],
        "entryuuid": [ext],
    }
    got = conn.get_account(ext)
    assert got is not None and got.grants == ["staff"]
    assert got.attributes["uid"] == "ada.lovelace"
    staff = server.entry(f"cn=staff,{slapd.GROUPS}", "member")
    assert staff is not None
    assert [normalize_dn(m) for m in staff["member"]] == [
        normalize_dn(slapd.NOBODY),
        normalize_dn(new_dn),
    ]


def test_a_rename_that_changes_case_only_keeps_the_groups(server: slapd.Slapd, make: Any) -> None:
    conn = make()
    ext = conn.create_account("ada", account(24), True).external_id
    conn.grant(ext, "staff")
    conn.update_account(ext, {"uid": "User0024"})
    got = conn.get_account(ext)
    assert got is not None
    assert (got.attributes["uid"], got.grants) == ("User0024", ["staff"])


def test_update_replaces_only_the_given_attributes_and_empty_removes(
    server: slapd.Slapd, make: Any
) -> None:
    conn = make()
    ext = conn.create_account("ada", account(6), True).external_id
    conn.update_account(ext, {"mail": "", "displayName": "Ada"})
    got = conn.get_account(ext)
    assert got is not None
    assert "mail" not in got.attributes
    assert got.attributes["displayName"] == "Ada"
    assert got.attributes["cn"] == "User 6"


def test_a_bad_attribute_is_refused_with_the_server_message(make: Any) -> None:
    conn = make()
    ext = conn.create_account("ada", account(7), True).external_id
    with pytest.raises(ConnectorError) as info:
        conn.update_account(ext, {"noSuchAttr": "x"})
    assert "undefinedAttributeType" in info.value.message
    assert "noSuchAttr" in info.value.message
    assert not info.value.retryable


# ----------------------------------------------------------------------------- disable


def test_disable_moves_the_entry_to_the_disabled_ou_and_back(
    server: slapd.Slapd, make: Any
) -> None:
    conn = make()
    ext = conn.create_account("ada", account(8), True).external_id
    conn.grant(ext, "staff")
    conn.set_enabled(ext, False)
    conn.set_enabled(ext, False)  # already disabled: done
    assert server.entry(f"uid=user0008,{slapd.DISABLED}") is not None
    got = conn.get_account(ext)
    assert got is not None and not got.enabled and got.grants == ["staff"]
    assert [(a.external_id, a.enabled) for a in _all(conn)] == [(ext, False)]
    conn.set_enabled(ext, True)
    assert server.entry(f"uid=user0008,{slapd.PEOPLE}") is not None
    got = conn.get_account(ext)
    assert got is not None and got.enabled and got.grants == ["staff"]


def test_an_account_created_disabled_starts_in_the_disabled_ou(
    server: slapd.Slapd, make: Any
) -> None:
    conn = make()
    ext = conn.create_account("ada", account(9), False).external_id
    assert _uuid(server, f"uid=user0009,{slapd.DISABLED}") == ext
    # adoption looks there too: no duplicate in ou=people
    again = conn.create_account("ada", account(9), True)
    assert again.adopted and again.external_id == ext
    assert server.entry(f"uid=user0009,{slapd.PEOPLE}") is None


def test_disable_by_lock_attribute(server: slapd.Slapd, make: Any) -> None:
    lock = {"method": "attribute", "attribute": "pwdAccountLockedTime", "value": "000001010000Z"}
    conn = make(disable=lock)
    ext = conn.create_account("ada", account(10), True).external_id
    dn = f"uid=user0010,{slapd.PEOPLE}"
    conn.set_enabled(ext, False)
    assert server.entry(dn, "pwdAccountLockedTime") == {"pwdaccountlockedtime": ["000001010000Z"]}
    got = conn.get_account(ext)
    assert got is not None and not got.enabled
    conn.set_enabled(ext, True)
    assert server.entry(dn, "pwdAccountLockedTime") == {}
    got = conn.get_account(ext)
    assert got is not None and got.enabled
    # created disabled: the lock is part of the add
    other = conn.create_account("bob", account(11), False).external_id
    assert [a.enabled for a in _all(conn) if a.external_id == other] == [False]


def test_disable_by_an_attribute_with_an_enabled_value(server: slapd.Slapd, make: Any) -> None:
    flag = {
        "method": "attribute",
        "attribute": "employeeType",
        "value": "disabled",
        "enabled_value": "active",
    }
    conn = make(disable=flag)
    ext = conn.create_account("ada", account(12), True).external_id
    dn = f"uid=user0012,{slapd.PEOPLE}"
    assert server.entry(dn, "employeeType") == {"employeetype": ["active"]}
    conn.set_enabled(ext, False)
    assert server.entry(dn, "employeeType") == {"employeetype": ["disabled"]}
    assert conn.get_account(ext).enabled is False  # type: ignore[union-attr]


def test_disable_active_directory_style(server: slapd.Slapd, make: Any) -> None:
    conn = make(disable={"method": "active_directory"})
    ext = conn.create_account("ada", account(13), True).external_id
    dn = f"uid=user0013,{slapd.PEOPLE}"
    assert server.entry(dn, "userAccountControl") == {"useraccountcontrol": ["512"]}
    server.modify(dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, ["66048"])]})  # + no expiry
    conn.set_enabled(ext, False)
    assert server.entry(dn, "userAccountControl") == {"useraccountcontrol": ["66050"]}
    assert conn.get_account(ext).enabled is False  # type: ignore[union-attr]
    conn.set_enabled(ext, True)
    assert server.entry(dn, "userAccountControl") == {"useraccountcontrol": ["66048"]}
    assert conn.get_account(ext).enabled is True  # type: ignore[union-attr]


def test_without_a_disable_method_disabling_is_refused(make: Any) -> None:
    conn = make(disable=None)
    ext = conn.create_account("ada", account(14), True).external_id
    with pytest.raises(ConnectorError, match="cannot disable"):
        conn.set_enabled(ext, False)


# ----------------------------------------------------------------------------- groups


def test_posix_group_grants_use_member_uid(server: slapd.Slapd, make: Any) -> None:
    conn = make(groups_dn=slapd.POSIX_GROUPS, group_object_class="posixGroup")
    ext = conn.create_account("ada", account(15), True).external_id
    other = conn.create_account("bob", account(16), True).external_id
    conn.grant(ext, "staff")
    conn.grant(ext, "staff")
    conn.grant(ext, "builders")
    conn.grant(other, "staff")
    staff_dn = f"cn=staff,{slapd.POSIX_GROUPS}"
    assert server.entry(staff_dn, "memberUid") == {"memberuid": ["user0015", "user0016"]}
    grants = {a.attributes["uid"]: a.grants for a in _all(conn)}
    assert grants == {"user0015": ["builders", "staff"], "user0016": ["staff"]}
    # a new uid is a new memberUid
    conn.update_account(ext, {"uid": "ada"})
    assert server.entry(staff_dn, "memberUid") == {"memberuid": ["user0016", "ada"]}
    assert conn.get_account(ext).grants == ["builders", "staff"]  # type: ignore[union-attr]
    conn.revoke(ext, "builders")
    conn.revoke(ext, "builders")
    assert server.entry(f"cn=builders,{slapd.POSIX_GROUPS}", "memberUid") == {}
    # refint does not cover memberUid: delete takes the account out of its groups itself
    conn.delete_account(ext)
    assert server.entry(staff_dn, "memberUid") == {"memberuid": ["user0016"]}


def test_group_of_unique_names(server: slapd.Slapd, make: Any) -> None:
    conn = make(groups_dn=slapd.UNIQUE_GROUPS, group_object_class="groupOfUniqueNames")
    ext = conn.create_account("ada", account(17), True).external_id
    conn.grant(ext, "vpn-users")
    conn.grant(ext, "vpn-users")
    assert conn.get_account(ext).grants == ["vpn-users"]  # type: ignore[union-attr]
    assert [a.grants for a in _all(conn)] == [["vpn-users"]]
    conn.revoke(ext, "vpn-users")
    assert conn.get_account(ext).grants == []  # type: ignore[union-attr]


def test_member_dns_are_compared_normalised(server: slapd.Slapd, make: Any) -> None:
    conn = make()
    ext = conn.create_account("ada", account(18), True).external_id
    odd = "UID=User0018 ,  OU=People,DC=Example, dc=COM"
    server.modify(f"cn=builders,{slapd.GROUPS}", {"member": [(ldap3.MODIFY_ADD, [odd])]})
    assert [a.grants for a in _all(conn)] == [["builders"]]
    conn.grant(ext, "builders")  # the server sees the same DN: already a member
    conn.revoke(ext, "builders")
    assert [a.grants for a in _all(conn)] == [[]]


def test_the_last_member_is_replaced_by_the_placeholder(server: slapd.Slapd, make: Any) -> None:
    conn = make()
    ext = conn.create_account("ada", account(19), True).external_id
    dn = f"uid=user0019,{slapd.PEOPLE}"
    server.add(f"cn=solo,{slapd.GROUPS}", ["groupOfNames"], {"cn": "solo", "member": [dn]})
    conn.revoke(ext, "solo")
    assert server.entry(f"cn=solo,{slapd.GROUPS}", "member") == {"member": [slapd.NOBODY]}
    conn.grant(ext, "solo")
    server.modify(f"cn=solo,{slapd.GROUPS}", {"member": [(ldap3.MODIFY_DELETE, [slapd.NOBODY])]})
    without = make(empty_group_member=None)
    with pytest.raises(ConnectorError) as info:
        without.revoke(ext, "solo")
    assert "objectClassViolation" in info.value.message
    assert "empty_group_member" in info.value.message
    assert not info.value.retryable


def test_a_group_that_moved_is_found_again(server: slapd.Slapd, make: Any) -> None:
    conn = make()
    ext = conn.create_account("ada", account(25), True).external_id
    conn.grant(ext, "staff")  # remembers cn=staff,ou=groups
    server.add(f"ou=moved,{slapd.GROUPS}", ["organizationalUnit"], {"ou": "moved"})
    admin = server.admin()
    admin.modify_dn(f"cn=staff,{slapd.GROUPS}", "cn=staff", new_superior=f"ou=moved,{slapd.GROUPS}")
    admin.unbind()
    conn.revoke(ext, "staff")
    assert conn.get_account(ext).grants == []  # type: ignore[union-attr]
    conn.grant(ext, "staff")
    assert conn.get_account(ext).grants == ["staff"]  # type: ignore[union-attr]


def test_granting_a_missing_group_is_refused(make: Any) -> None:
    conn = make()
    ext = conn.create_account("ada", account(20), True).external_id
    with pytest.raises(ConnectorError, match="no groupOfNames with cn=ghosts") as info:
        conn.grant(ext, "ghosts")
    assert not info.value.retryable
    conn.revoke(ext, "ghosts")  # nothing to revoke: done


# ----------------------------------------------------------------------------- reading


def test_reads_page_by_page_over_more_than_three_pages(server: slapd.Slapd, make: Any) -> None:
    conn = make(page_size=3)
    written = {conn.create_account(f"p{n}", account(200 + n), True).external_id for n in range(11)}
    conn.set_enabled(sorted(written)[0], False)  # one in the disabled OU: another base
    pages = list(make(page_size=3).read())
    assert [len(p.accounts) for p in pages] == [3, 3, 3, 1, 1]
    assert {a.external_id for p in pages for a in p.accounts} == written
    assert all(p.total is None for p in pages)


def test_multi_valued_attributes_come_back_as_lists(server: slapd.Slapd, make: Any) -> None:
    spec = {
        "name_attribute": "uid",
        "schema": {
            "uid": {},
            "cn": {},
            "sn": {},
            "mail": {"multi_valued": True},
            "employeeNumber": {"type": "integer"},
        },
        "create": {"uid": "x", "cn": "x", "sn": "x"},
        "sync": {"mail": "x", "employeeNumber": "x"},
        "correlation": ["uid"],
    }
    conn = make(account=spec)
    attrs = {"uid": "ada", "cn": "Ada", "sn": "L", "mail": ["b@x.io", "a@x.io"]}
    ext = conn.create_account("ada", {**attrs, "employeeNumber": 42}, True).external_id
    got = conn.get_account(ext)
    assert got is not None
    assert got.attributes == {**attrs, "mail": ["a@x.io", "b@x.io"], "employeeNumber": 42}
    # a single-valued attribute comes back plain even where the directory allows more
    server.modify(f"uid=ada,{slapd.PEOPLE}", {"cn": [(ldap3.MODIFY_ADD, ["Ada L"])]})
    assert conn.get_account(ext).attributes["cn"] == "Ada"  # type: ignore[union-attr]


def test_a_read_of_a_missing_base_fails_with_the_server_message(make: Any) -> None:
    conn = make(users_dn=f"ou=nowhere,{slapd.SUFFIX}")
    with pytest.raises(ConnectorError) as info:
        list(conn.read())
    assert "noSuchObject" in info.value.message
    assert not info.value.retryable


def test_a_stopped_server_is_retryable_and_a_restarted_one_is_used_again(
    server: slapd.Slapd, make: Any
) -> None:
    conn = make()
    ext = conn.create_account("ada", account(21), True).external_id
    server.stop()
    with pytest.raises(ConnectorError) as down:
        conn.get_account(ext)
    assert down.value.retryable
    assert down.value.message
    with pytest.raises(ConnectorError) as refused:
        conn.grant(ext, "staff")
    assert refused.value.retryable and "refused" in refused.value.message.lower()
    server.start()
    conn.grant(ext, "staff")  # a new connection
    assert conn.get_account(ext).grants == ["staff"]  # type: ignore[union-attr]


def test_wrong_credentials_are_not_retryable(server: slapd.Slapd, tmp_path: Path) -> None:
    wrong = ConnectorContext(root=tmp_path, environ={PASSWORD_VARIABLE: "wrong"})
    conn = LdapConnector("corp", ldap_source(server.url), wrong)
    with pytest.raises(ConnectorError) as info:
        conn.check()
    assert "invalidCredentials" in info.value.message
    assert not info.value.retryable


def test_bad_settings_are_refused_up_front(server: slapd.Slapd, make: Any) -> None:
    with pytest.raises(ConnectorError, match=r"unknown connection key.*users_ou"):
        make(users_ou=slapd.PEOPLE)
    with pytest.raises(ConnectorError, match=r"disable\.method"):
        make(disable={"method": "magic"})
    with pytest.raises(ConnectorError, match="is not ldap://host"):
        make(url="http://127.0.0.1")
    with pytest.raises(ConnectorError, match="users_dn"):
        make(users_dn="not a dn")


# ----------------------------------------------------------------------------- TLS


@pytest.fixture
def tls_server() -> Iterator[slapd.Slapd]:
    slapd.require()
    with slapd.slapd_server(tls=True) as running:
        yield running


def test_ldaps_and_start_tls_with_a_ca_file(tls_server: slapd.Slapd, tmp_path: Path) -> None:
    ca = str(tls_server.ca_file)
    cases: list[tuple[str, dict[str, Any]]] = [
        (tls_server.ldaps_url, {}),  # the certificate names 127.0.0.1 ...
        (tls_server.url, {"start_tls": True}),
    ]
    if {a[4][0] for a in socket.getaddrinfo("localhost", None)} == {"127.0.0.1"}:
        # ... and localhost (only where localhost is 127.0.0.1 alone: slapd listens there)
        cases.append((f"ldaps://localhost:{tls_server.tls_port}", {}))
    for url, extra in cases:
        conn = LdapConnector("corp", ldap_source(url, ca_file=ca, **extra), context(tmp_path))
        with conn:
            ext = conn.create_account("ada", account(22), True).external_id
            assert [a.external_id for a in _all(conn)] == [ext]


def test_an_unknown_ca_is_refused_for_good(tls_server: slapd.Slapd, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    with slapd.slapd_server(tls=True) as elsewhere:
        assert elsewhere.ca_file is not None
        other.write_bytes(elsewhere.ca_file.read_bytes())
    for url, extra in (
        (tls_server.ldaps_url, {}),
        (tls_server.url, {"start_tls": True}),
    ):
        conn = LdapConnector(
            "corp", ldap_source(url, ca_file=str(other), **extra), context(tmp_path)
        )
        with conn, pytest.raises(ConnectorError) as info:
            conn.check()
        assert "certificate verify failed" in info.value.message
        assert not info.value.retryable


def test_start_tls_on_a_server_without_tls_is_refused(server: slapd.Slapd, make: Any) -> None:
    with pytest.raises(ConnectorError) as info:
        make(start_tls=True).check()
    assert "unsupported extended operation" in info.value.message
    assert not info.value.retryable


# ----------------------------------------------------------------------------- DNs


def test_dn_parsing_and_normalising() -> None:
    assert normalize_dn("UID=Ada ,  OU=People,DC=Example, dc=COM") == (
        "uid=ada,ou=people,dc=example,dc=com"
    )
    assert normalize_dn(r"cn=Lovelace\, Ada,ou=x") == normalize_dn(r"CN=lovelace\2C ada, OU=X")
    assert normalize_dn("cn=b+sn=a,ou=x") == normalize_dn("SN=A + CN=B,ou=x")
    assert parse_dn(r"cn=J\C3\A9r\C3\B4me,ou=x") == [[("cn", "Jérôme")], [("ou", "x")]]
    assert split_rdn(r"uid=a\,b,ou=people,dc=x") == (r"uid=a\,b", "ou=people,dc=x")


# ----------------------------------------------------------------------------- sharing


def test_connectors_of_one_run_share_where_accounts_are(server: slapd.Slapd, make: Any) -> None:
    """A grant needs no search for accounts another connector of the run created, and an
    account one of them renamed is looked up again by all (apply's pool: ``share_with``)."""
    first, second = make(), make()
    second.share_with(first)
    created = [first.create_account(f"p{n}", account(40 + n), True).external_id for n in (0, 1)]
    searches: list[str] = []
    lookup = second.search.lookup

    def counted(base: str, *args: Any) -> Any:
        if base != slapd.GROUPS:  # accounts, not the group (found once per connector)
            searches.append(base)
        return lookup(base, *args)

    second.search.lookup = counted  # type: ignore[method-assign]
    second.grant_many("staff", created)
    assert searches == []
    first.update_account(created[0], {"uid": "renamed"})
    second.grant_many("builders", created)
    assert searches == [slapd.PEOPLE]  # the renamed one, found again (where it is)
    members = server.entry(f"cn=builders,{slapd.GROUPS}", "member")
    assert members is not None
    assert f"uid=renamed,{slapd.PEOPLE}" in members["member"]


def test_a_read_back_asks_the_disabled_ou_only_for_what_users_dn_lacks(
    server: slapd.Slapd, make: Any
) -> None:
    """Accounts are looked up by id under users_dn first; the disabled OU is asked only
    for the ids not found there, and a disabled account is still found."""
    conn = make()
    on = [conn.create_account(f"q{n}", account(60 + n), True).external_id for n in (0, 1)]
    off = conn.create_account("q2", account(62), True).external_id
    conn.set_enabled(off, False)
    searches: list[tuple[str, str]] = []
    lookup = conn.search.lookup

    def counted(base: str, scope: Any, search_filter: str, attributes: list[str]) -> Any:
        searches.append((base, search_filter))
        return lookup(base, scope, search_filter, attributes)

    conn.search.lookup = counted  # type: ignore[method-assign]
    found = conn.get_accounts([*on, off])
    assert sorted(found) == sorted([*on, off])
    assert found[off].enabled is False
    assert [base for base, _ in searches] == [slapd.PEOPLE, slapd.DISABLED]
    assert off in searches[1][1] and not any(i in searches[1][1] for i in on)
    searches.clear()
    assert sorted(conn.get_accounts(on)) == sorted(on)
    assert [base for base, _ in searches] == [slapd.PEOPLE]  # all there: no second search
