"""Developer tasks: ``nox`` runs the tests; ``nox -s lint`` checks style and types."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Unit, integration and end-to-end tests (integration tests start real servers)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format check) and mypy --strict on the package."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "accesshive", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "accesshive", "tests", "noxfile.py")
    session.run("mypy")


@nox.session(name="format")
def format_(session: nox.Session) -> None:
    """Rewrite files with ruff's formatter and safe fixes."""
    session.install("ruff")
    session.run("ruff", "check", "--fix", "accesshive", "tests", "noxfile.py")
    session.run("ruff", "format", "accesshive", "tests", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Scale benchmarks (not part of CI): plan on generated orgs of 10,000 and 100,000
    identities, apply of 10,000 orders against the sql connector, and the SCIM and LDAP
    connectors against local servers beside a bare client loop.

    `nox -s bench -- --sizes 10000` for a quicker run.
    """
    session.install("-e", ".[test]")
    # an installed accesshive has its bytecode (pip compiles at install); an editable one
    # run with PYTHONDONTWRITEBYTECODE set would compile every module at every start-up,
    # which no user pays: every bench below measures the installed case
    session.run("python", "-m", "compileall", "-q", "accesshive")
    session.run("python", "-m", "tests.bench.startup_bench", success_codes=[0, 1])
    session.run(
        "python", "-m", "tests.bench.run", *(session.posargs or ["--sizes", "10000,100000"])
    )
    session.run("python", "-m", "tests.bench.apply_bench", "--orders", "10000")
    # the console's identity page after a change (the whole plan) and when nothing changed
    session.run("python", "-m", "tests.bench.console_bench", "--identities", "10000")
    # the median of three runs: on a shared machine one SCIM apply's wall time swings more
    # than the ratio's margin (connectors_bench --repeat)
    session.run(
        "python",
        "-m",
        "tests.bench.connectors_bench",
        "--accounts",
        "2000",
        "--repeat",
        "3",
        success_codes=[0, 1],
    )
    # LDAP as a user runs it (three CLI runs) vs bare ldap3 and vs Ansible, which the bench
    # installs in a virtualenv of its own (python-ldap builds with libldap2-dev libsasl2-dev)
    session.run("python", "-m", "tests.bench.ldap_bench", "--users", "3000", success_codes=[0, 1])
    session.run(
        "python", "-m", "tests.bench.scim_provider_bench", "--clients", "200", "--users", "10000"
    )
    session.run(
        "python",
        "-m",
        "tests.bench.scim_provider_bench",
        "--clients",
        "200",
        "--users",
        "10000",
        "--replicas",
        "2",
        "--store",
        "auto",
    )
    # apply on 1, 2 and 4 worker processes (ACCESSHIVE_BENCH_ORDERS for a smaller run)
    session.run("python", "-m", "tests.bench.workers_bench", success_codes=[0, 1])


@nox.session(name="bench-workers")
def bench_workers(session: nox.Session) -> None:
    """Apply on workers (issue 21): 20,000 orders over 4 SCIM sources at 20 ms round trip,
    in process and on 1, 2 and 4 worker processes, then 4 with one SIGKILLed; PostgreSQL
    from Debian's packages. Also part of `nox -s bench`. Smaller:
    `ACCESSHIVE_BENCH_ORDERS=2000 nox -s bench-workers`."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "tests.bench.workers_bench", *session.posargs, success_codes=[0, 1])


@nox.session
def mutate(session: nox.Session) -> None:
    """Mutation testing (mutmut) of apply/, approvals/, audit/, vault/, plan/gates.py,
    plan/guardrails.py and sshsig.py: each mutant must make a test fail. Not part of CI
    (hours on 2 cores; MUTATION.md has the last figures, the surviving mutants, and what
    to refresh in mutants/ before a run).
    ``nox -s mutate -- --max-children 2``. mutmut keeps its results in mutants/ and re-tests
    only what changed: delete mutants/ for a full run."""
    session.install("-e", ".[test]", "mutmut>=3.8,<4")
    session.run("mutmut", "run", *session.posargs)
    session.run("mutmut", "results", success_codes=[0, 1])
