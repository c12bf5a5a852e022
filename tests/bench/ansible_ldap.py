"""Ansible doing accesshive's LDAP work, for the comparison in ``tests.bench.ldap_bench``.

Ansible is installed from PyPI into a virtualenv of its own (``ansible``, which ships
the ``community.general`` collection with its ``ldap_entry`` and ``ldap_attrs``
modules, and ``python-ldap``, which those modules need; building it needs the OpenLDAP
and SASL headers: ``apt-get install libldap2-dev libsasl2-dev``). The virtualenv is kept
in the user's cache directory, so that only the first run pays the install.

The playbook is what an Ansible user writes for the same work: one ``ldap_entry`` per
account (a loop), then one ``ldap_attrs`` per group adding every member at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REQUIREMENTS = ("ansible>=10", "python-ldap")

PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: accounts
      community.general.ldap_entry:
        server_uri: "{{ url }}"
        bind_dn: "{{ bind_dn }}"
        bind_pw: "{{ bind_pw }}"
        dn: "uid={{ item }},{{ people }}"
        objectClass: [inetOrgPerson]
        attributes:
          uid: "{{ item }}"
          cn: "{{ item }}"
          sn: "{{ item }}"
          mail: "{{ item }}@example.com"
      loop: "{{ ldap_uids }}"
    - name: memberships
      community.general.ldap_attrs:
        server_uri: "{{ url }}"
        bind_dn: "{{ bind_dn }}"
        bind_pw: "{{ bind_pw }}"
        dn: "cn={{ item }},{{ groups_base }}"
        attributes:
          member: "{{ member_dns }}"
        state: present
      loop: "{{ ldap_groups }}"
"""


class Unavailable(Exception):
    """Ansible could not be installed here; the message says what failed."""


def venv_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "accesshive-bench" / "ansible-venv"


def _ready(venv: Path) -> bool:
    python = venv / "bin" / "python"
    if not (venv / "bin" / "ansible-playbook").exists() or not python.exists():
        return False
    probe = "import ldap, ansible_collections.community.general"
    return subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0


def ensure(venv: Path | None = None) -> Path:
    """The virtualenv with Ansible and python-ldap, made (once) when missing."""
    venv = venv or venv_dir()
    if _ready(venv):
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *REQUIREMENTS],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if "WARNING" not in line]
            raise Unavailable(f"`{' '.join(step[-3:])}` failed: {' | '.join(lines[-3:])}")
    if not _ready(venv):
        raise Unavailable("installed, but python-ldap or community.general does not import")
    return venv


def run_playbook(venv: Path, workdir: Path, variables: Mapping[str, object]) -> None:
    """Run the playbook with ``variables`` (url, bind_dn, bind_pw, people, groups_base,
    ldap_uids, member_dns, ldap_groups) on localhost, the modules run by the virtualenv's
    Python."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "playbook.yml").write_text(PLAYBOOK)
    (workdir / "vars.json").write_text(json.dumps(variables))
    env = {
        **os.environ,
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_HOME": str(workdir / ".ansible"),
    }
    command = [
        str(venv / "bin" / "ansible-playbook"),
        "-i",
        "localhost,",
        "-e",
        f"ansible_python_interpreter={venv / 'bin' / 'python'}",
        "-e",
        "@vars.json",
        "playbook.yml",
    ]
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"ansible-playbook failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
