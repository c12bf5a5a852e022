"""Deterministic generator of a large config repository and a matching target snapshot.

    python -m tests.bench.generate DEST --identities N [--drift 0.05] [--seed 7]

writes a config repository at ``DEST`` (accesshive.yaml, sources/, access_profiles.yaml,
roles.yaml, lifecycle.yaml, policies/, identities/people/*.yaml and
identities/non-human/*.yaml, at most 1,000 identities per file) and, beside it,
``DEST/../<DEST name>-snapshot.json``: what the targets hold.

The snapshot is built with accesshive's own pipeline, so it is *converged* by
construction: a "history" config in which everyone who is now on leave, terminated
or retired was still active is planned against an empty snapshot and applied with
the in-memory simulator (``tests/support/simulator.py``); then the real config is
planned against that and applied too (leavers get disabled, revoked or deleted as
their lifecycle says). A plan against the result must be empty (checked unless
``check=False``). Then ``drift`` of the identities get one random difference each
(missing account, changed synced attribute, extra or missing grant, wrong enabled
flag, stale or missing credential) and a few orphan accounts are added.

Everything comes from one seeded ``random.Random``: same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import random
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

TODAY = dt.date(2026, 11, 29)
DOMAIN = "bench.example"
PER_FILE = 1000
READ_AT = "2026-11-29T02:00:00Z"

# --------------------------------------------------------------------------- people

GIVEN = (
    "Aiko Ada Adebayo Ahmed Aisha Alejandro Alexei Alice Amara Amelia Ana Anders Andrea Anika "
    "Anton Arjun Astrid Ayşe Beatriz Benjamin Bianca Björn Camille Carlos Carmen Chen Chiara "
    "Chidi Chloé Dae-jung Daniel Daniela Dmitri Elena Elif Elijah Emil Emma Erik Esther Fatima "
    "Felipe François Freya Gabriel Grace Hannah Hiroshi Hugo Ian Ibrahim Inês Ingrid Isaac "
    "Isabela Ivan Jakub Jana Jason Javier Jin Joana João Jonas José Julia Julián Kai Kamal "
    "Karin Kateřina Kenji Kwame Laila Lars Laura Lea Leon Liam Lina Lucas Lucía Luis Lukas "
    "Maja Malik Marco María Marta Matteo Maya Mehmet Mei Mia Miguel Mikael Mina Nadia Naledi "
    "Nia Nikolai Noah Nora Oliver Olivia Omar Oscar Pablo Paula Pedro Priya Rafael Rania Ravi "
    "Rosa Ruth Samuel Sara Sebastian Siddharth Sofia Sofía Søren Sun-hee Tariq Thea Tomasz "
    "Tuan Valentina Victor Wei Yara Yasmin Yusuf Zainab Zoë Zofia"
).split()
FAMILY = (
    "Abara Adeyemi Almeida Andersen Bakker Banerjee Bergström Bianchi Brown Byrne Castillo "
    "Chen Costa Cruz da Silva Dąbrowski de Vries Dimitrov Dubois Duarte Eriksen Fernández "
    "Fischer Fontaine García Gomes González Gupta Haddad Hansen Hernández Hoffmann Horvat "
    "Ibrahim Ivanova Jansen Jensen Johansson Kaya Kim Kowalski Kumar Laurent Lee Lehmann "
    "Lindqvist Liu López Lund Martin Martínez Mehta Mensah Meyer Moreau Müller Nakamura "
    "Nguyễn Nielsen Novák Nowak Nwosu O'Brien O'Connor Okafor Oliveira Ortiz Park Patel "
    "Pereira Petrova Popescu Quintero Rahman Raman Reyes Ribeiro Rodrigues Romano Rossi "
    "Sánchez Santos Sato Schmidt Schneider Silva Singh Smith Sokolov Solberg Suzuki Tanaka "
    "Taylor Teixeira Thompson Tran Vargas Virtanen Wagner Walker Wang Weber Williams Wójcik "
    "Yamamoto Yılmaz Zhang Zimmermann"
).split()
# "da Silva", "de Vries": rejoin particles split above
FAMILY = [f for f in FAMILY if f not in ("da", "de")]
FAMILY += ["da Silva", "de Vries", "El Idrissi", "van der Berg", "Al-Sayed"]

# department: (weight, cost centre, titles)
DEPARTMENTS: dict[str, tuple[float, str, tuple[str, ...]]] = {
    "Engineering": (
        26,
        "CC-4100",
        (
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Engineering Manager",
            "Site Reliability Engineer",
            "Platform Engineer",
            "QA Engineer",
            "Mobile Engineer",
        ),
    ),
    "Data": (4, "CC-4300", ("Data Engineer", "Data Scientist", "Analytics Engineer")),
    "Product": (4, "CC-4400", ("Product Manager", "Senior Product Manager", "Product Owner")),
    "Design": (3, "CC-4200", ("Product Designer", "UX Researcher", "Design Lead")),
    "Sales": (
        14,
        "CC-3100",
        ("Account Executive", "Sales Development Representative", "Sales Manager"),
    ),
    "Sales Operations": (3, "CC-3200", ("Sales Operations Analyst", "Deal Desk Specialist")),
    "Marketing": (6, "CC-3300", ("Marketing Manager", "Content Strategist", "Growth Marketer")),
    "Customer Support": (
        12,
        "CC-3500",
        ("Support Engineer", "Customer Support Specialist", "Support Team Lead"),
    ),
    "Finance": (5, "CC-2100", ("Accountant", "Financial Analyst", "Payables Specialist")),
    "People": (4, "CC-1200", ("People Partner", "Recruiter", "Payroll Specialist")),
    "Legal": (2, "CC-1300", ("Counsel", "Paralegal", "Privacy Officer")),
    "IT Operations": (4, "CC-5000", ("Systems Administrator", "IT Support Specialist")),
    "Security": (2, "CC-5100", ("Security Engineer", "Security Analyst")),
    "Facilities": (2, "CC-1400", ("Office Manager", "Facilities Coordinator")),
    "Executive": (0.3, "CC-1000", ("Vice President", "Chief of Staff")),
}
LOCATIONS = {"Berlin": 30, "Lisbon": 20, "New York": 20, "Singapore": 10, "Remote": 20}
EMPLOYMENT = {"employee": 85, "contractor": 10, "intern": 5}
HUMAN_STATES = {"active": 870, "leave": 35, "terminated": 60, "prehire": 20, "offboarding": 15}
NON_HUMAN_SHARE = 0.05
NON_HUMAN_TYPES = {"shared_credential": 35, "service_account": 30, "api_key": 20, "oauth_app": 15}


def _ascii(value: str) -> str:
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()


def _slug(value: str, sep: str = "-") -> str:
    return re.sub(r"[^a-z0-9]+", sep, _ascii(value).lower()).strip(sep)


# --------------------------------------------------------------------------- sources

DEPT_SLUGS = {d: _slug(d) for d in DEPARTMENTS}
SITES = {"Berlin": "berlin", "Lisbon": "lisbon", "New York": "new-york", "Singapore": "singapore"}
PROJECTS = (
    "PLAT PAY MOB WEB DATA IDN GRW SRE SUP FIN HR SEC LEG MKT SALES OPS DES PRD ITS FAC"
).split()


def _ents(*names: str, sensitive: Iterable[str] = (), kind: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sens = set(sensitive)
    for name in names:
        spec: dict[str, Any] = {}
        if kind:
            spec["type"] = kind
        if name in sens:
            spec["sensitive"] = True
        out[name] = spec
    return out


def sources() -> dict[str, dict[str, Any]]:
    """The five provisioned sources (ldap, scim, google_workspace, sql, manual) and a vault."""
    ldap_ents = _ents(
        "staff",
        "contractors",
        "interns",
        "vpn-users",
        "wifi-corp",
        "printers",
        "mail-relay",
        *(f"dept-{s}" for s in DEPT_SLUGS.values()),
        *(f"site-{s}" for s in SITES.values()),
        *(
            f"team-{t}"
            for t in ("platform", "payments", "mobile", "web", "identity", "growth", "sre")
        ),
        "sudo-prod",
        "domain-admins",
        "backup-operators",
        "schema-admins",
        sensitive=("sudo-prod", "domain-admins", "backup-operators", "schema-admins"),
    )
    gws_groups = _ents(
        f"all-staff@{DOMAIN}",
        f"contractors@{DOMAIN}",
        f"leadership@{DOMAIN}",
        *(f"{s}@{DOMAIN}" for s in DEPT_SLUGS.values()),
        kind="group",
    )
    gws_other = {
        **_ents(
            "workspace-business-starter",
            "workspace-business-standard",
            "workspace-enterprise-plus",
            kind="license",
        ),
        **_ents("drive-finance-restricted", "drive-legal-contracts", "drive-board", kind="group"),
        **_ents("super-admin", "groups-admin", "user-management-admin", kind="role"),
    }
    gws_other["drive-board"]["sensitive"] = True
    gws_other["super-admin"]["sensitive"] = True
    scim_ents = _ents(
        "jira-users",
        "confluence-users",
        "jira-software-users",
        "jira-service-desk-agents",
        "statuspage-editors",
        "trusted-users",
        *(f"proj-{p.lower()}" for p in PROJECTS),
        "org-admins",
        "site-admins",
        sensitive=("org-admins",),
        kind="group",
    )
    erp_ents = _ents(
        "reader",
        "accountant",
        "payables-clerk",
        "receivables-clerk",
        "approver",
        "erp-admin",
        "payroll-viewer",
        "payroll-admin",
        "procurement-requester",
        "procurement-approver",
        "expense-submitter",
        "expense-approver",
        "budget-owner",
        "report-emea",
        "report-americas",
        "report-apac",
        "tax-specialist",
        "treasury-viewer",
        "treasury-operator",
        "audit-read-only",
        "vendor-master-editor",
        "gl-close",
        sensitive=("approver", "erp-admin", "payroll-admin", "treasury-operator"),
        kind="permission",
    )
    badge_ents = _ents(
        "berlin-hq",
        *(f"berlin-floor-{n}" for n in range(2, 6)),
        "lisbon-office",
        *(f"lisbon-floor-{n}" for n in range(1, 4)),
        "new-york-office",
        *(f"new-york-floor-{n}" for n in range(10, 13)),
        "singapore-office",
        "singapore-floor-8",
        "parking-berlin",
        "parking-lisbon",
        "bike-room-berlin",
        "lab-hardware",
        "mail-room",
        "after-hours",
        "server-room-berlin",
        "server-room-singapore",
        sensitive=("server-room-berlin", "server-room-singapore"),
    )
    return {
        "corp-directory": {
            "kind": "ldap",
            "description": "OpenLDAP directory, the identity provider (ou=people, ou=groups).",
            "owner": f"it-ops@{DOMAIN}",
            "identity_provider": True,
            "connection": {
                "url": f"ldaps://ldap.{DOMAIN}",
                "bind_dn": "cn=accesshive,ou=services,dc=bench,dc=example",
                "bind_password": "${env:BENCH_LDAP_PASSWORD}",
                "users_dn": "ou=people,dc=bench,dc=example",
                "groups_dn": "ou=groups,dc=bench,dc=example",
            },
            "account": {
                "name_attribute": "uid",
                "schema": {
                    "uid": {
                        "type": "string",
                        "required": True,
                        "max_length": 64,
                        "case_exact": True,
                    },
                    "cn": {"type": "string", "required": True},
                    "sn": {"type": "string", "required": True},
                    "givenName": {"type": "string"},
                    "mail": {"type": "email", "required": True},
                    "employeeNumber": {"type": "integer", "required": True},
                    "departmentNumber": {"type": "string"},
                    "ou": {"type": "string"},
                    "title": {"type": "string"},
                    "employeeType": {"type": "string"},
                    "l": {"type": "string", "description": "Office location"},
                    "manager": {"type": "string", "description": "DN of the line manager"},
                },
                "create": {
                    "uid": "{{ id|lower }}",
                    "employeeNumber": "{{ employee_number }}",
                },
                "sync": {
                    "cn": "{{ given_name }} {{ family_name }}",
                    "sn": "{{ family_name }}",
                    "givenName": "{{ given_name }}",
                    "mail": "{{ email|lower }}",
                    "departmentNumber": "{{ cost_center }}",
                    "ou": "{{ department|slug }}",
                    "title": "{{ title }}",
                    "employeeType": "{{ employment_type|lower }}",
                    "l": "{{ location }}",
                    "manager": "{% if manager is defined %}uid={{ manager|lower }},"
                    "ou=people,dc=bench,dc=example{% endif %}",
                },
                "correlation": ["mail", "uid"],
            },
            "entitlements": ldap_ents,
            "retry": {"attempts": 3, "max_seconds": 60},
        },
        "google-workspace": {
            "kind": "google_workspace",
            "description": f"Google Workspace for {DOMAIN} (Admin SDK, domain-wide delegation).",
            "owner": f"it-ops@{DOMAIN}",
            "connection": {
                "customer_id": "C0bench42",
                "domain": DOMAIN,
                "subject": f"accesshive-admin@{DOMAIN}",
                "credentials": "${file:/etc/bench/gws-sa.json}",
            },
            "account": {
                "name_attribute": "primaryEmail",
                "schema": {
                    "primaryEmail": {"type": "email", "required": True},
                    "givenName": {"type": "string", "required": True, "max_length": 60},
                    "familyName": {"type": "string", "required": True, "max_length": 60},
                    "orgUnitPath": {"type": "string", "required": True, "case_exact": True},
                    "title": {"type": "string"},
                },
                "create": {"primaryEmail": "{{ email|lower }}"},
                "sync": {
                    "givenName": "{{ given_name }}",
                    "familyName": "{{ family_name }}",
                    "orgUnitPath": "{% if type == 'human' %}/Staff/{{ department|slug }}"
                    "{% else %}/Shared accounts{% endif %}",
                    "title": "{% if type == 'human' %}{{ title }}{% endif %}",
                },
                "correlation": ["primaryEmail"],
            },
            "entitlements": {**gws_groups, **gws_other},
            "retry": {"attempts": 6, "max_seconds": 600, "errors": ["Rate Limit Exceeded"]},
        },
        "atlassian": {
            "kind": "scim",
            "description": "Atlassian Cloud (Jira, Confluence) over SCIM 2.0, SSO via Google.",
            "owner": f"it-ops@{DOMAIN}",
            "requires_google_workspace": True,
            "connection": {
                "base_url": "https://api.atlassian.com/scim/directory/bench",
                "token": "${env:BENCH_ATLASSIAN_SCIM_TOKEN}",
            },
            "account": {
                "name_attribute": "userName",
                "schema": {
                    "userName": {"type": "email", "required": True},
                    "emails": {"type": "email", "multi_valued": True},
                    "displayName": {"type": "string"},
                    "title": {"type": "string"},
                    "department": {"type": "string"},
                    "active": {"type": "boolean"},
                },
                "create": {"userName": "{{ email|lower }}"},
                "sync": {
                    "emails": "{{ email|lower }}",
                    "displayName": "{{ given_name }} {{ family_name }}",
                    "title": "{{ title }}",
                    "department": "{{ department }}",
                },
                "correlation": ["userName"],
            },
            "entitlements": scim_ents,
            "retry": {"attempts": 5, "max_seconds": 300, "errors": ["429"]},
            "concurrency": 4,
        },
        "erp": {
            "kind": "sql",
            "description": "ERP: users and permissions tables in PostgreSQL.",
            "owner": f"finance-systems@{DOMAIN}",
            "connection": {
                "url": f"postgresql://erp@db.{DOMAIN}/erp",
                "password": "${env:BENCH_ERP_DB_PASSWORD}",
                "accounts_table": "app_users",
                "grants_table": "app_user_permissions",
            },
            "account": {
                "name_attribute": "login",
                "schema": {
                    "login": {"type": "string", "required": True, "max_length": 16},
                    "email": {"type": "email", "required": True},
                    "full_name": {"type": "string"},
                    "employee_number": {"type": "integer", "required": True},
                    "cost_center": {"type": "string"},
                    "department": {"type": "string"},
                },
                "create": {
                    "login": "{{ (given_name|slug)[:1] }}{{ (family_name|slug(''))[:8] }}"
                    "{{ employee_number % 10000 }}",
                },
                "sync": {
                    "email": "{{ email|lower }}",
                    "full_name": "{{ given_name }} {{ family_name }}",
                    "employee_number": "{{ employee_number }}",
                    "cost_center": "{{ cost_center }}",
                    "department": "{{ department|lower }}",
                },
                "correlation": ["employee_number", "email", "login"],
            },
            "entitlements": erp_ents,
            "concurrency": 2,
        },
        "badges": {
            "kind": "manual",
            "description": "Door badge system; facilities acts on tasks.",
            "owner": f"facilities@{DOMAIN}",
            "connection": {"export": "exports/badges.csv"},
            "account": {
                "name_attribute": "badge_holder",
                "schema": {
                    "badge_holder": {"type": "string", "required": True, "max_length": 40},
                    "email": {"type": "email", "required": True},
                    "employee_number": {"type": "integer", "required": True},
                    "site": {"type": "string"},
                },
                "create": {
                    "badge_holder": "{{ given_name|ascii|upper }} {{ family_name|ascii|upper }}"
                },
                "sync": {
                    "email": "{{ email|lower }}",
                    "employee_number": "{{ employee_number }}",
                    "site": "{{ location|slug }}",
                },
                "correlation": ["employee_number", "email"],
            },
            "entitlements": badge_ents,
        },
        "vault": {
            "kind": "vault",
            "description": "accesshive's encrypted credential store.",
            "owner": f"security@{DOMAIN}",
            "connection": {
                "path": "/var/lib/accesshive/bench-vault.db",
                "key": "${env:ACCESSHIVE_MASTER_KEY}",
            },
        },
    }


def access_profiles() -> dict[str, dict[str, Any]]:
    def ap(source: str, *ents: str, description: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"source": source, "entitlements": list(ents)}
        if description:
            out["description"] = description
        return out

    d, g = "corp-directory", "google-workspace"

    def dl(*slugs: str) -> list[str]:
        return [f"{s}@{DOMAIN}" for s in slugs]

    return {
        "dir-staff": ap(d, "staff", "vpn-users", "wifi-corp", "printers", description="Everyone"),
        "dir-contractor": ap(d, "contractors", "wifi-corp"),
        "dir-engineering": ap(d, "dept-engineering", "dept-data", "team-platform"),
        "dir-product": ap(d, "dept-product", "dept-design"),
        "dir-sales": ap(d, "dept-sales", "dept-sales-operations", "dept-marketing"),
        "dir-support": ap(d, "dept-customer-support"),
        "dir-finance": ap(d, "dept-finance"),
        "dir-people": ap(d, "dept-people", "dept-legal"),
        "dir-it-ops": ap(d, "dept-it-operations", "dept-security", "dept-facilities"),
        "dir-sudo-prod": ap(d, "sudo-prod", description="Root on production servers"),
        "dir-domain-admins": ap(d, "domain-admins", "schema-admins"),
        "gws-employee": ap(g, *dl("all-staff"), "workspace-business-standard"),
        "gws-contractor": ap(g, *dl("contractors"), "workspace-business-starter"),
        "gws-shared-mailbox": ap(g, "workspace-business-starter"),
        "gws-engineering": ap(g, *dl("engineering", "data")),
        "gws-product": ap(g, *dl("product", "design")),
        "gws-sales": ap(g, *dl("sales", "sales-operations", "marketing")),
        "gws-support": ap(g, *dl("customer-support")),
        "gws-finance": ap(g, *dl("finance"), "drive-finance-restricted"),
        "gws-people": ap(g, *dl("people", "legal"), "drive-legal-contracts"),
        "gws-it-ops": ap(g, *dl("it-operations", "security", "facilities"), "groups-admin"),
        "gws-leadership": ap(g, *dl("leadership"), "workspace-enterprise-plus", "drive-board"),
        "gws-super-admin": ap(g, "super-admin", "user-management-admin"),
        "atl-user": ap("atlassian", "jira-users", "confluence-users"),
        "atl-engineering": ap(
            "atlassian", "jira-software-users", "proj-plat", "proj-sre", "proj-web"
        ),
        "atl-support": ap("atlassian", "jira-service-desk-agents", "proj-sup"),
        "atl-admin": ap("atlassian", "org-admins", "site-admins"),
        "erp-expenses": ap("erp", "expense-submitter"),
        "erp-finance": ap(
            "erp", "reader", "accountant", "payables-clerk", "receivables-clerk", "gl-close"
        ),
        "erp-approver": ap("erp", "approver", "expense-approver"),
        "erp-admin": ap("erp", "erp-admin"),
        "erp-read-only": ap("erp", "reader", "audit-read-only"),
        "badge-berlin": ap("badges", "berlin-hq", "berlin-floor-2"),
        "badge-lisbon": ap("badges", "lisbon-office", "lisbon-floor-1"),
        "badge-new-york": ap("badges", "new-york-office", "new-york-floor-10"),
        "badge-singapore": ap("badges", "singapore-office", "singapore-floor-8"),
        "badge-server-room": ap("badges", "server-room-berlin", "server-room-singapore"),
    }


def roles() -> dict[str, dict[str, Any]]:
    def role(desc: str, profiles: list[str], **where: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"description": desc, "access_profiles": profiles}
        if where:
            out["members_where"] = where
        return out

    return {
        "employee": role(
            "Employees and interns: directory, mail, Jira/Confluence, expenses.",
            ["dir-staff", "gws-employee", "atl-user", "erp-expenses"],
            employment_type=["employee", "intern"],
        ),
        "contractor": role(
            "External contractors.",
            ["dir-contractor", "gws-contractor"],
            employment_type="contractor",
        ),
        **{
            f"office-{slug}": role(f"Works from the {loc} office.", [f"badge-{slug}"], location=loc)
            for loc, slug in SITES.items()
        },
        "engineering": role(
            "Builds the product.",
            ["dir-engineering", "gws-engineering", "atl-engineering"],
            department=["Engineering", "Data"],
        ),
        "product": role(
            "Product management and design.",
            ["dir-product", "gws-product", "atl-engineering"],
            department=["Product", "Design"],
        ),
        "sales": role(
            "Sales, sales operations and marketing.",
            ["dir-sales", "gws-sales"],
            department=["Sales", "Sales Operations", "Marketing"],
        ),
        "support": role(
            "Customer support.",
            ["dir-support", "gws-support", "atl-support"],
            department="Customer Support",
        ),
        "finance": role(
            "Bookkeeping and reporting.",
            ["dir-finance", "gws-finance", "erp-finance"],
            department="Finance",
        ),
        "people": role(
            "People and legal.", ["dir-people", "gws-people"], department=["People", "Legal"]
        ),
        "it-ops": role(
            "IT operations, security and facilities.",
            ["dir-it-ops", "gws-it-ops", "atl-engineering"],
            department=["IT Operations", "Security", "Facilities"],
        ),
        "leadership": role(
            "Executive team (assigned by hand).", ["gws-leadership", "erp-read-only"]
        ),
        "production-access": role("On-call: root on production.", ["dir-sudo-prod"]),
        "directory-admin": role(
            "Break-glass administrators.", ["dir-domain-admins", "gws-super-admin", "atl-admin"]
        ),
        "finance-approver": role("Approves payments (four eyes).", ["erp-approver"]),
        "server-room": role("Physical access to the server rooms.", ["badge-server-room"]),
    }


LIFECYCLE = {
    "terminated": {
        "description": "Left: accounts disabled, access revoked, deleted after 90 days.",
        "accounts": "disabled",
        "access": "revoked",
        "delete_after_days": 90,
    },
    "offboarding": {
        "description": "Notice period: accounts stay enabled, access frozen.",
        "accounts": "enabled",
        "access": "kept",
    },
    "retired": {
        "description": "Decommissioned non-human identity.",
        "accounts": "absent",
        "access": "revoked",
    },
}

IDENTITY_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "given_name": {"type": "string", "required": True},
    "family_name": {"type": "string", "required": True},
    "email": {"type": "email", "required": True},
    "department": {"type": "string", "required": True},
    "title": {"type": "string", "required": True},
    "location": {"type": "string", "required": True},
    "employee_number": {"type": "integer", "required": True},
    "manager": {"type": "string", "description": "Identity id of the line manager."},
    "cost_center": {"type": "string", "required": True},
    "employment_type": {"type": "string", "required": True},
    "start_date": {"type": "date"},
}


# --------------------------------------------------------------------------- YAML writing

_PLAIN = re.compile(r"^[^\W\d_][\w .'/()&@+-]*$")
_RESERVED = frozenset("true false yes no on off null y n ~ nan inf".split())


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return "null"
    text = str(value)
    if _PLAIN.match(text) and not text.endswith(" ") and text.lower() not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def _emit(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key, item in value.items():
        k = _scalar(key)
        if isinstance(item, dict):
            if not item:
                out.append(f"{pad}{k}: {{}}")
            elif all(not isinstance(v, dict | list) for v in item.values()) and len(item) <= 4:
                inner = ", ".join(f"{_scalar(a)}: {_scalar(b)}" for a, b in item.items())
                out.append(f"{pad}{k}: {{{inner}}}")
            else:
                out.append(f"{pad}{k}:")
                _emit(item, indent + 2, out)
        elif isinstance(item, list) and any(isinstance(v, dict) for v in item):
            out.append(f"{pad}{k}:")
            for entry in item:
                block: list[str] = []
                _emit(entry, indent + 4, block)
                out.append(f"{pad}  - {block[0].lstrip()}")
                out.extend(block[1:])
        elif isinstance(item, list):
            out.append(f"{pad}{k}: [{', '.join(_scalar(v) for v in item)}]")
        else:
            out.append(f"{pad}{k}: {_scalar(item)}")


def _write_yaml(path: Path, header: str, doc: dict[str, Any]) -> None:
    lines = [f"# {line}" if line else "#" for line in header.strip().splitlines()]
    _emit(doc, 0, lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- the org


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _people(rng: random.Random, count: int) -> dict[str, dict[str, Any]]:
    """Humans, in hiring order; managers are people hired before in the same department."""
    taken: Counter[str] = Counter()
    out: dict[str, dict[str, Any]] = {}
    managers: dict[str, list[str]] = defaultdict(list)
    dept_weights = {d: w for d, (w, _, _) in DEPARTMENTS.items()}
    ceo: str | None = None
    for n in range(count):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        base = f"{_slug(given, '')}.{_slug(family, '')}"
        taken[base] += 1
        iid = base if taken[base] == 1 else f"{base}{taken[base]}"
        dept = "Executive" if n == 0 else _pick(rng, dept_weights)
        _, cost_center, titles = DEPARTMENTS[dept]
        employment = "employee" if n < 50 else _pick(rng, EMPLOYMENT)
        attrs: dict[str, Any] = {
            "given_name": given,
            "family_name": family,
            "email": f"{iid}@{DOMAIN}",
            "department": dept,
            "title": "Chief Executive Officer" if n == 0 else rng.choice(titles),
            "employee_number": 100000 + n,
            "location": _pick(rng, LOCATIONS),
            "cost_center": f"{cost_center[:-1]}{rng.randint(0, 4)}",
            "employment_type": employment,
        }
        if ceo is None:
            ceo = iid
        else:
            pool = managers[dept]
            attrs["manager"] = rng.choice(pool[-50:]) if pool else ceo
        if n < 8 or rng.random() < 0.12:
            managers[dept].append(iid)
        ident: dict[str, Any] = {"type": "human"}
        state = "active" if n < 50 else _pick(rng, HUMAN_STATES)
        if state != "active":
            ident["lifecycle_state"] = state
            back = {"leave": 300, "terminated": 365, "prehire": 60, "offboarding": 30}[state]
            ident["lifecycle_since"] = TODAY - dt.timedelta(days=rng.randint(1, back))
            if state == "prehire":
                attrs["start_date"] = TODAY + dt.timedelta(days=rng.randint(3, 90))
        direct = _direct_roles(rng, n, dept)
        if direct:
            ident["roles"] = direct
        if rng.random() < 0.02:
            ident["access_profiles"] = [rng.choice(["erp-read-only", "atl-engineering"])]
        if rng.random() < 0.005:
            ident["platforms"] = ["erp"]
        ident["attributes"] = attrs
        out[iid] = ident
    return out


def _direct_roles(rng: random.Random, n: int, dept: str) -> list[str]:
    roles_: list[str] = []
    if n < 8 or (dept == "Executive" and rng.random() < 0.5):
        roles_.append("leadership")
    if dept in ("Engineering", "IT Operations") and rng.random() < 0.06:
        roles_.append("production-access")
    if dept in ("IT Operations", "Security") and rng.random() < 0.02:
        roles_.append("directory-admin")
    if dept == "Finance" and rng.random() < 0.05:
        roles_.append("finance-approver")
    if dept in ("IT Operations", "Facilities") and rng.random() < 0.05:
        roles_.append("server-room")
    return roles_


def _non_humans(
    rng: random.Random, count: int, humans: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    owners = sorted(
        iid for iid, h in humans.items() if h.get("lifecycle_state", "active") == "active"
    )
    out: dict[str, dict[str, Any]] = {}
    purposes = (
        "billing reports ci deploy backup monitoring payroll crm analytics ledger support "
        "marketing alerts webhooks search sso etl warehouse"
    ).split()
    for n in range(count):
        kind = _pick(rng, NON_HUMAN_TYPES)
        purpose = rng.choice(purposes)
        iid = f"{kind.replace('_', '-')}-{purpose}-{n:05d}"
        owner = rng.choice(owners)
        ident: dict[str, Any] = {
            "type": kind,
            "display_name": f"{purpose.capitalize()} {kind.replace('_', ' ')} #{n}",
            "owner": owner,
        }
        if rng.random() < 0.05:
            ident["lifecycle_state"] = "retired"
            ident["lifecycle_since"] = TODAY - dt.timedelta(days=rng.randint(1, 400))
        cost_center = humans[owner]["attributes"]["cost_center"]
        if kind == "shared_credential" and rng.random() < 0.6:
            ident["credential"] = {"mode": "managed", "rotate_every_days": rng.choice([90, 180])}
            ident["platforms"] = ["google-workspace"]
            if rng.random() < 0.5:
                ident["access_profiles"] = ["gws-shared-mailbox"]
            ident["attributes"] = {
                "given_name": "Shared",
                "family_name": f"{purpose.capitalize()} {n}",
                "email": f"{purpose}-{n:05d}@{DOMAIN}",
                "cost_center": cost_center,
            }
        else:
            env = iid.upper().replace("-", "_")
            cred: dict[str, Any] = {}
            if kind == "shared_credential":
                cred["mode"] = "external"
            cred["supplied_by"] = (
                f"${{env:{env}}}" if rng.random() < 0.6 else f"${{file:/run/secrets/{iid}}}"
            )
            if rng.random() < 0.7:
                cred["rotate_every_days"] = rng.choice([30, 90, 180, 365])
            ident["credential"] = cred
            ident["attributes"] = {"cost_center": cost_center}
        out[iid] = ident
    return out


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def write_repository(dest: Path, identities: dict[str, dict[str, Any]]) -> int:
    """Write the config repository; return how many files were written."""
    n = len(identities)
    _write_yaml(
        dest / "accesshive.yaml",
        f"""Benchmark organisation: {n:,} identities, generated by tests/bench/generate.py.
sources/ one file per system; identities/people/<department>-NNN.yaml and
identities/non-human/<type>-NNN.yaml hold at most {PER_FILE:,} identities each.""",
        {
            "version": 1,
            "name": "bench",
            "description": f"Generated benchmark org ({n} identities).",
            "identity_attributes": IDENTITY_ATTRIBUTES,
        },
    )
    files = 1
    for sid, source in sources().items():
        _write_yaml(
            dest / "sources" / f"{sid}.yaml",
            f"{sid}: {source['description']}",
            {"sources": {sid: source}},
        )
        files += 1
    _write_yaml(
        dest / "access_profiles.yaml",
        "Access profiles: bundles of entitlements on one source.",
        {"access_profiles": access_profiles()},
    )
    _write_yaml(
        dest / "roles.yaml",
        "Roles: most by rule on department, location or employment type; the privileged\n"
        "ones are assigned by hand in identities/.",
        {"roles": roles()},
    )
    _write_yaml(
        dest / "lifecycle.yaml",
        "Lifecycle states beside the built-in ones.",
        {"lifecycle_states": LIFECYCLE},
    )
    files += 3
    files += _write_policies(dest, identities)
    by_group: dict[str, list[str]] = defaultdict(list)
    for iid, ident in identities.items():
        if ident["type"] == "human":
            by_group["people/" + DEPT_SLUGS[ident["attributes"]["department"]]].append(iid)
        else:
            by_group["non-human/" + ident["type"].replace("_", "-")].append(iid)
    for group in sorted(by_group):
        for k, chunk in enumerate(_chunks(by_group[group], PER_FILE), start=1):
            _write_yaml(
                dest / "identities" / f"{group}-{k:03d}.yaml",
                f"{group.split('/')[1]} ({len(chunk)} identities, part {k})",
                {"identities": {iid: identities[iid] for iid in chunk}},
            )
            files += 1
    return files


def _write_policies(dest: Path, identities: dict[str, dict[str, Any]]) -> int:
    n = len(identities)
    people = [
        iid
        for iid, ident in identities.items()
        if ident["type"] == "human" and ident.get("lifecycle_state", "active") == "active"
    ]
    by_dept: dict[str, list[str]] = defaultdict(list)
    for iid in people:
        by_dept[identities[iid]["attributes"]["department"]].append(iid)

    def members(dept: str, count: int) -> list[str]:
        found = by_dept.get(dept, [])[:count]
        return found if len(found) >= 2 else people[:count]

    reviewers: dict[str, Any] = {}
    for group, dept in (("security", "Security"), ("it-admins", "IT Operations")):
        for iid in members(dept, 3):
            reviewers.setdefault(iid, {"groups": []})["groups"].append(group)
    for iid in members("Finance", 2):
        reviewers.setdefault(iid, {"groups": []})["groups"].append("finance-approvers")
    _write_yaml(
        dest / "policies" / "guardrails.yaml",
        "A large org: a plan may disable or delete up to 5% of a source, or this many accounts.",
        {
            "guardrails": {
                "max_removal_share": 0.05,
                "max_removal_count": max(100, n // 100),
                "min_accounts_for_share": 100,
                "orphans": "report",
            }
        },
    )
    _write_yaml(
        dest / "policies" / "review.yaml",
        "Who reviews what.",
        {
            "review": {
                "allow_self_approval": False,
                "reviewers": reviewers,
                "rules": [
                    {
                        "name": "sensitive-grants",
                        "order_kinds": ["grant"],
                        "sensitive_only": True,
                        "reviewer_groups": ["security"],
                    },
                    {
                        "name": "directory-admin-grants",
                        "order_kinds": ["grant"],
                        "access_profiles": ["dir-domain-admins", "gws-super-admin"],
                        "reviewer_groups": ["security", "it-admins"],
                        "quorum": 2,
                    },
                    {
                        "name": "erp-grants",
                        "order_kinds": ["grant"],
                        "sources": ["erp"],
                        "access_profiles": ["erp-approver", "erp-admin"],
                        "reviewer_groups": ["finance-approvers"],
                    },
                    {
                        "name": "account-deletion",
                        "order_kinds": ["delete_account"],
                        "reviewer_groups": ["it-admins"],
                    },
                    {
                        "name": "shared-credentials",
                        "order_kinds": ["store_credential", "rotate_credential"],
                        "sources": ["vault"],
                        "reviewer_groups": ["security"],
                    },
                ],
            }
        },
    )
    return 2


# --------------------------------------------------------------------------- the snapshot


def _apply(plan: Any, snap: dict[str, Any]) -> dict[str, Any]:
    """Apply every order of ``plan`` to ``snap`` (plain data) with the test simulator.

    The simulator scans a source's accounts for every order, so it is given one batch
    of identities at a time: orders of one identity only touch that identity's
    accounts and credentials, and keep their relative order.
    """
    from accesshive.state.snapshot import Snapshot
    from tests.support.simulator import simulate

    by_ident: dict[str, list[Any]] = defaultdict(list)
    for order in plan.orders:
        if order.change.identity is None:
            raise AssertionError(f"unexpected order without identity: {order.id}")
        by_ident[order.change.identity].append(order)
    kept: dict[str, dict[str, list[Any]]] = {}
    owned: dict[str, dict[str, dict[str, list[Any]]]] = defaultdict(dict)
    for sid, src in snap["sources"].items():
        kept[sid] = {"accounts": [], "credentials": []}
        for part in ("accounts", "credentials"):
            for item in src[part]:
                who = item.get("identity")
                if who in by_ident:
                    owned[who].setdefault(sid, {"accounts": [], "credentials": []})[part].append(
                        item
                    )
                else:
                    kept[sid][part].append(item)
    for batch in _chunks(sorted(by_ident), 64):
        sub: dict[str, Any] = {}
        for iid in batch:
            for sid, parts in owned.get(iid, {}).items():
                into = sub.setdefault(sid, {"accounts": [], "credentials": []})
                into["accounts"].extend(parts["accounts"])
                into["credentials"].extend(parts["credentials"])
        orders = tuple(o for iid in batch for o in by_ident[iid])
        after = simulate(
            dataclasses.replace(plan, orders=orders),
            Snapshot.model_validate({"sources": sub}),
            TODAY,
        ).model_dump(mode="python")
        for sid, src in after["sources"].items():
            into = kept.setdefault(sid, {"accounts": [], "credentials": []})
            into["accounts"].extend(src["accounts"])
            into["credentials"].extend(src["credentials"])
    return {"version": 1, "sources": {sid: {**kept[sid], "read_at": READ_AT} for sid in kept}}


def converged_snapshot(dest: Path, rng: random.Random, check: bool) -> tuple[dict[str, Any], Any]:
    """Plan the history config and then the real one, applying both; return the result."""
    from accesshive.config import load_config
    from accesshive.expand.desired import expand
    from accesshive.plan.build import make_plan
    from accesshive.state.snapshot import Snapshot

    config = load_config(dest)
    desired, problems = expand(config, TODAY)
    if problems:
        raise SystemExit(f"generated config does not expand: {problems[0].render()}")
    # 1. history: those who have since left (or gone on leave, or been retired) were active
    history = {
        iid: ident.model_copy(update={"lifecycle_state": "active", "lifecycle_since": None})
        if ident.lifecycle_state in ("leave", "terminated", "offboarding", "retired")
        else ident
        for iid, ident in config.identities.items()
    }
    past = dataclasses.replace(config, identities=history)
    past_desired, problems = expand(past, TODAY)
    assert not problems, problems
    empty = {
        "version": 1,
        "sources": {sid: {"accounts": [], "credentials": []} for sid in sorted(config.sources)},
    }
    first = make_plan(past, past_desired, Snapshot(), TODAY, allow_mass_changes=True)
    snap = _apply(first, empty)
    # 2. today: leavers disabled, revoked, deleted after retention
    second = make_plan(
        config, desired, Snapshot.model_validate(snap), TODAY, allow_mass_changes=True
    )
    snap = _apply(second, snap)
    _age_credentials(rng, snap, desired)
    _add_logins(rng, snap)
    if check:
        again = make_plan(config, desired, Snapshot.model_validate(snap), TODAY)
        if again.orders:
            raise AssertionError(
                f"converged snapshot still plans {len(again.orders)} orders, e.g. "
                f"{again.orders[0].to_json()}"
            )
    stats = {"history_orders": len(first.orders), "leaver_orders": len(second.orders)}
    return snap, (config, desired, stats)


def _age_credentials(rng: random.Random, snap: dict[str, Any], desired: Any) -> None:
    """Stored some time ago, rotated within the rotation period (so nothing is due)."""
    for src in snap["sources"].values():
        for cred in src["credentials"]:
            want = desired.credentials.get(cred["identity"])
            days = want.rotate_every_days if want else None
            stored = TODAY - dt.timedelta(days=rng.randint(0, 900))
            cred["stored_at"] = stored
            cred["rotated_at"] = (
                max(stored, TODAY - dt.timedelta(days=rng.randint(0, days - 1))) if days else None
            )
            cred["key_id"] = f"k{rng.randint(1, 9)}"


def _add_logins(rng: random.Random, snap: dict[str, Any]) -> None:
    for src in snap["sources"].values():
        for acc in src["accounts"]:
            back = rng.randint(0, 20) if acc["enabled"] else rng.randint(30, 400)
            stamp = dt.datetime(2026, 11, 29, 8, 0) - dt.timedelta(
                days=back, minutes=rng.randint(0, 900)
            )
            acc["last_login"] = stamp.isoformat() + "Z"


DRIFT_KINDS = (
    "missing_account",
    "changed_attribute",
    "extra_grant",
    "missing_grant",
    "wrong_enabled",
)


def _drift(
    rng: random.Random,
    snap: dict[str, Any],
    config: Any,
    desired: Any,
    share: float,
    total: int,
) -> Counter[str]:
    """Give ``share`` of the identities one random difference each."""
    accounts: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    creds: dict[str, tuple[str, dict[str, Any]]] = {}
    for sid in sorted(snap["sources"]):
        for acc in snap["sources"][sid]["accounts"]:
            if acc["identity"]:
                accounts[acc["identity"]].append((sid, acc))
        for cred in snap["sources"][sid]["credentials"]:
            creds[cred["identity"]] = (sid, cred)
    candidates = sorted(set(accounts) | set(creds))
    chosen = rng.sample(candidates, min(len(candidates), round(share * total)))
    done: Counter[str] = Counter()
    for iid in chosen:
        if iid not in accounts:
            sid, cred = creds[iid]
            want = desired.credentials.get(iid)
            if want is not None and want.rotate_every_days:
                cred["rotated_at"] = TODAY - dt.timedelta(days=want.rotate_every_days + 5)
                done["overdue_credential"] += 1
            else:
                snap["sources"][sid]["credentials"].remove(cred)
                done["missing_credential"] += 1
            continue
        sid, acc = rng.choice(accounts[iid])
        source = config.sources[sid]
        kind = rng.choice(DRIFT_KINDS)
        if kind == "missing_account":
            snap["sources"][sid]["accounts"].remove(acc)
        elif kind == "changed_attribute":
            synced = [a for a in sorted(source.account.sync) if a in acc["attributes"]]
            if not synced:
                kind = "wrong_enabled"
            else:
                attr = rng.choice(synced)
                acc["attributes"][attr] = _changed(acc["attributes"][attr])
        if kind == "extra_grant":
            spare = sorted(set(source.entitlements) - set(acc["grants"]))
            acc["grants"].append(rng.choice(spare))
        elif kind == "missing_grant":
            if acc["grants"]:
                acc["grants"].remove(rng.choice(acc["grants"]))
            else:
                kind = "wrong_enabled"
        if kind == "wrong_enabled":
            acc["enabled"] = not acc["enabled"]
        done[kind] += 1
    return done


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return [f"old.{v}" for v in value]
    if value in (None, ""):
        return "uid=former.manager,ou=people,dc=bench,dc=example"
    return f"{value} (old)"


def _orphans(rng: random.Random, snap: dict[str, Any], config: Any, count: int) -> None:
    """Accounts no identity owns: created by hand, or left by identities since deleted."""
    provisioned = sorted(sid for sid, s in config.sources.items() if s.kind != "vault")
    for k in range(count):
        sid = rng.choice(provisioned)
        source = config.sources[sid]
        local = f"legacy.user{k:04d}"
        attrs: dict[str, Any] = {}
        for attr, spec in sorted(source.account.schema_.items()):
            if spec.type == "integer":
                attrs[attr] = 900000 + k
            elif spec.type == "email":
                attrs[attr] = (
                    [f"{local}@old.{DOMAIN}"] if spec.multi_valued else (f"{local}@old.{DOMAIN}")
                )
            elif spec.type == "boolean":
                attrs[attr] = True
            elif spec.required or rng.random() < 0.5:
                attrs[attr] = local if attr in ("uid", "login") else f"Legacy User {k}"
        ents = sorted(source.entitlements)
        snap["sources"][sid]["accounts"].append(
            {
                "external_id": f"{sid}:legacy-{k:05d}",
                "identity": f"departed.user{k}" if rng.random() < 0.3 else None,
                "enabled": rng.random() < 0.6,
                "attributes": attrs,
                "grants": rng.sample(ents, min(len(ents), rng.randint(0, 3))),
                "last_login": None,
            }
        )
    vault = snap["sources"].get("vault")
    if vault is not None:
        for k in range(max(2, count // 10)):
            vault["credentials"].append(
                {
                    "identity": f"api-key-decommissioned-{k:04d}",
                    "kind": "api_key",
                    "stored_at": TODAY - dt.timedelta(days=400 + k),
                    "rotated_at": None,
                    "key_id": "k1",
                }
            )


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


# --------------------------------------------------------------------------- entry point


def snapshot_path(dest: Path) -> Path:
    return dest.parent / f"{dest.name}-snapshot.json"


def meta_path(dest: Path) -> Path:
    return dest.parent / f"{dest.name}-meta.json"


def generate(
    dest: Path, identities: int, drift: float = 0.05, seed: int = 7, check: bool = True
) -> dict[str, Any]:
    """Write the repository at ``dest`` and its snapshot beside it; return paths and counts."""
    started = time.perf_counter()
    dest = Path(dest).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"{dest} exists and is not empty; remove it first")
    rng = random.Random(seed)
    non_human = round(identities * NON_HUMAN_SHARE)
    humans = _people(rng, identities - non_human)
    org = {**humans, **_non_humans(rng, non_human, humans)}
    files = write_repository(dest, org)
    written = time.perf_counter()

    snap, (config, desired, stats) = converged_snapshot(dest, rng, check)
    drifted = _drift(rng, snap, config, desired, drift, identities)
    orphans = max(5, identities // 1000)
    _orphans(rng, snap, config, orphans)
    out = snapshot_path(dest)
    with out.open("w", encoding="utf-8") as fh:
        json.dump(snap, fh, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    types = Counter(i["type"] for i in org.values())
    states = Counter(i.get("lifecycle_state", "active") for i in org.values())
    result = {
        "repository": str(dest),
        "snapshot": str(out),
        "identities": identities,
        "drift": drift,
        "seed": seed,
        "types": dict(sorted(types.items())),
        "lifecycle_states": dict(sorted(states.items())),
        "files": files,
        "repository_bytes": sum(p.stat().st_size for p in dest.rglob("*.yaml")),
        "snapshot_bytes": out.stat().st_size,
        "sources": len(config.sources),
        "access_profiles": len(config.access_profiles),
        "roles": len(config.roles),
        "desired_accounts": len(desired.accounts),
        "desired_credentials": len(desired.credentials),
        "snapshot_accounts": {
            sid: len(s["accounts"]) for sid, s in sorted(snap["sources"].items())
        },
        "snapshot_credentials": sum(len(s["credentials"]) for s in snap["sources"].values()),
        "drifted": dict(sorted(drifted.items())),
        "orphans": orphans,
        "converged_checked": check,
        **stats,
        "seconds_write": round(written - started, 2),
        "seconds_total": round(time.perf_counter() - started, 2),
    }
    meta_path(dest).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dest", type=Path, help="directory to create (must be absent or empty)")
    parser.add_argument("--identities", type=int, required=True)
    parser.add_argument("--drift", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-check", action="store_true", help="skip re-planning the converged snapshot"
    )
    args = parser.parse_args(argv)
    result = generate(args.dest, args.identities, args.drift, args.seed, check=not args.no_check)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
