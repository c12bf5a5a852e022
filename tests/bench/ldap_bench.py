"""LDAP as a user runs it: `accesshive sync`, `accesshive plan --out plan.json` and
`accesshive apply plan.json` (three CLI invocations, start-ups included) for N new
accounts with 2 groups each, against a throwaway slapd, beside

- the bare ldap3 loop doing the same work, as a script of its own
  (``tests.bench.ldap_fair``: the same reads, batches and read-back), at ``--users``;
- Ansible (``ldap_entry`` per account, ``ldap_attrs`` per group: ``tests.bench.
  ansible_ldap``), at ``--ansible-users`` (Ansible runs a module process per account:
  at 3,000 it would take the better part of an hour here).

    python -m tests.bench.ldap_bench [--users 3000] [--ansible-users 300]
        [--format text|json] [--json-out FILE] [--profile DIR]

Targets (issue: fast at every size): accesshive within 1.3× the bare loop at 3,000
users; at least 50× faster than Ansible. Each in a fresh slapd. Exit 1 when a target
fails (``nox -s bench`` goes on); a comparison that cannot run here prints SKIP and why.
``--profile DIR`` runs each CLI invocation under cProfile and keeps the profiles there.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench import ansible_ldap
from tests.bench.connectors_bench import CLI, REPO, TODAY, ldap_connection
from tests.bench.verdicts import Verdict, report, skipped

GROUPS = ("staff", "builders")
BARE_TARGET = 1.3
ANSIBLE_TARGET = 50.0


def _repo(root: Path, url: str, users: int) -> Path:
    root.mkdir(parents=True)
    config = {
        "version": 1,
        "name": "ldap-bench",
        "sources": {
            "directory": {
                "kind": "ldap",
                "connection": ldap_connection(url),
                "account": {
                    "name_attribute": "uid",
                    "create": {"uid": "{{ id }}", "cn": "{{ id }}", "sn": "{{ id }}"},
                    "sync": {"mail": "{{ email }}"},
                    "correlation": ["uid"],
                },
                "entitlements": {g: {} for g in GROUPS},
            }
        },
        "access_profiles": {"all": {"source": "directory", "entitlements": list(GROUPS)}},
        "policies": {"use_defaults": False},
    }
    (root / "accesshive.yaml").write_text(json.dumps(config))
    lines = ["identities:"] + [
        f"  u{n:05}: {{type: human, access_profiles: [all], "
        f"attributes: {{email: u{n:05}@example.com}}}}"
        for n in range(users)
    ]
    (root / "people.yaml").write_text("\n".join(lines) + "\n")
    return root


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far: what a
    command cost apart from the slapd it talked to."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _accesshive(root: Path, profile: Path | None) -> float:
    """Seconds for sync, plan --out, apply: three invocations, as a user types them."""
    today = ["--today", TODAY.isoformat()]
    commands = [["sync"], ["plan", "--out", "plan.json", *today], ["apply", "plan.json", *today]]
    start = time.perf_counter()
    for args in commands:
        argv = [str(CLI), *args]
        if profile is not None:
            out = profile / f"accesshive-{args[0]}.prof"
            argv = [sys.executable, "-m", "cProfile", "-o", str(out), *argv]
        began, cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run(argv, cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"accesshive {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        wall, used = time.perf_counter() - began, _children_cpu() - cpu
        print(f"  accesshive {args[0]}: {wall:.2f}s wall, {used:.2f}s CPU", file=sys.stderr)
    return time.perf_counter() - start


def _bare(url: str, users: int) -> float:
    from tests.support import slapd as s

    env = {**os.environ, "BENCH_LDAP_BIND_DN": s.ADMIN_DN}
    argv = [sys.executable, "-m", "tests.bench.ldap_fair"]
    argv += [url, s.PEOPLE, s.GROUPS, "u", str(users), ",".join(GROUPS), s.DISABLED]
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(argv, cwd=REPO, env=env, check=True)
    wall, used = time.perf_counter() - start, _children_cpu() - cpu
    print(f"  bare ldap3 loop: {wall:.2f}s wall, {used:.2f}s CPU", file=sys.stderr)
    return wall


def _ansible(venv: Path, url: str, users: int, workdir: Path) -> float:
    from tests.support import slapd as s

    variables = {
        "url": url,
        "bind_dn": s.ADMIN_DN,
        "bind_pw": s.ADMIN_PASSWORD,
        "people": s.PEOPLE,
        "groups_base": s.GROUPS,
        "ldap_uids": [f"u{n:05}" for n in range(users)],
        "member_dns": [f"uid=u{n:05},{s.PEOPLE}" for n in range(users)],
        "ldap_groups": list(GROUPS),
    }
    start = time.perf_counter()
    ansible_ldap.run_playbook(venv, workdir, variables)
    return time.perf_counter() - start


def measure(args: argparse.Namespace, workdir: Path) -> tuple[list[Verdict], dict[str, float]]:
    from tests.support import slapd as s

    os.environ["BENCH_LDAP_PASSWORD"] = s.ADMIN_PASSWORD
    figures: dict[str, float] = {}
    with s.slapd_server() as server:
        root = _repo(workdir / "big", server.url, args.users)
        figures["accesshive_seconds"] = _accesshive(root, args.profile)
    with s.slapd_server() as server:
        figures["bare_seconds"] = _bare(server.url, args.users)
    verdicts = [
        Verdict(
            f"LDAP sync+plan+apply (3 CLI runs), {args.users} users x 2 groups, vs bare ldap3",
            figures["accesshive_seconds"],
            figures["bare_seconds"],
            "at_most",
            BARE_TARGET,
        )
    ]
    name = f"LDAP sync+plan+apply, {args.ansible_users} users x 2 groups, faster than Ansible"
    if args.ansible_users <= 0:
        verdicts.append(skipped(name, "at_least", ANSIBLE_TARGET, "--ansible-users 0"))
        return verdicts, figures
    try:
        venv = ansible_ldap.ensure()
    except ansible_ldap.Unavailable as exc:
        verdicts.append(skipped(name, "at_least", ANSIBLE_TARGET, str(exc)))
        return verdicts, figures
    with s.slapd_server() as server:
        root = _repo(workdir / "small", server.url, args.ansible_users)
        figures["accesshive_small_seconds"] = _accesshive(root, None)
    with s.slapd_server() as server:
        figures["ansible_seconds"] = _ansible(venv, server.url, args.ansible_users, workdir)
    verdicts.append(
        Verdict(
            name,
            figures["accesshive_small_seconds"],
            figures["ansible_seconds"],
            "at_least",
            ANSIBLE_TARGET,
        )
    )
    return verdicts, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--ansible-users", type=int, default=300)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--json-out", type=Path, help="also write the figures here (JSON)")
    parser.add_argument("--profile", type=Path, help="keep cProfile profiles of the CLI here")
    args = parser.parse_args()
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="accesshive-ldap-bench-"))
    try:
        verdicts, figures = measure(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report(verdicts, args.format, args.json_out, figures)


if __name__ == "__main__":
    raise SystemExit(main())
