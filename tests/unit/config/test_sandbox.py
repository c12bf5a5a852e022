"""The template sandbox holds under abuse: a template that would make a huge value or run
for ever is refused, quickly, saying which limit it hit; one that reaches for Python's
internals is refused as a sandbox violation; each is reported once, at the template,
however many identities render it; and templates that do neither render as before."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jinja2
import pytest
from click.testing import CliRunner
from jinja2.sandbox import ImmutableSandboxedEnvironment

from accesshive.cli import main
from accesshive.config import load_config
from accesshive.expand import compiling, limits
from accesshive.expand.compiling import ENV, compile_template
from accesshive.expand.desired import expand
from accesshive.expand.fast_templates import fast_renderer
from accesshive.expand.templates import TemplateProblem, TemplateRefused, render, renderer
from accesshive.operations import validate_repository

TODAY = dt.date(2026, 11, 29)

# --------------------------------------------------------------------------- abuse

# case → (template, what the refusal says). Unbounded, each of these takes gigabytes or
# hours; they run in a child process with 2 GB of address space and an alarm per case,
# so that without the limits the test fails (MemoryError, or "hung") instead of hanging.
ABUSE: dict[str, tuple[str, str]] = {
    "repeat text": ("{{ 'a' * 10**10 }}", "would make a text of 10,000,000,000 characters"),
    "repeat list": ("{{ ['a', 'b'] * 10**10 }}", "would make a list of"),
    "power": ("{{ 2 ** 100000000 }}", "would make a number of about 30,103,000 digits"),
    "multiply numbers": (
        "{% set ns = namespace(n=10**4000) %}{% for i in range(40) %}"
        "{% set ns.n = ns.n * ns.n %}{% endfor %}",
        "would make a number of about 8,001 digits",
    ),
    "range": ("{{ range(10**9)|list }}", "asks for a range of 1,000,000,000 numbers"),
    "join": ("{{ range(100000)|join('-' * 100) }}", "would make a text of 10,"),
    "str.join": (
        "{% set s = 'x' * 2000 %}{{ s.join(s.split('x')) }}",
        "would make a text of 4,000,000 characters",
    ),
    "doubling with ~": (
        "{% set a = 'x' * 1000000 %}{% set b = a ~ a %}{% set c = b ~ b %}{{ c ~ c }}",
        "would make a text of 2,000,000 characters",
    ),
    "doubling with +": (
        "{% set a = 'x' * 1000000 %}{% set b = a + a %}{{ b + b }}",
        "would make a text of 2,000,000 characters",
    ),
    "nested lists": (
        "{% set a = ['x' * 500000] %}{% set b = [a, a, a] %}{% set c = [b, b, b] %}{{ c }}",
        "would make a list of more than 1,000,000 characters",
    ),
    "loop writes": (
        "{% set s = 'x' * 100000 %}{% for i in range(100000) %}{{ s }}{% endfor %}",
        "writes more than 1,000,000 characters",
    ),
    "block doubling": (
        "{% set a = 'x' * 600000 %}{% set b %}{{ a }}{{ a }}{% endset %}{{ b }}",
        "writes more than 1,000,000 characters",
    ),
    "many writes": (
        "{% set s = 'x' * 1000000 %}" + "{{ s }}" * 20,
        "writes more than 1,000,000 characters",
    ),
    "loops in loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% for k in range(100000) %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "ran longer than 1 second, the time limit",
    ),
    "loops over text": (
        "{% set s = 'x' * 1000000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
        "ran longer than 1 second, the time limit",
    ),
    "recursion": (
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
        "calls itself too deeply",
    ),
    "printf width": ("{{ '%010000000000d' % 1 }}", "would make a text of 10,000,000,000"),
    "printf star width": ("{{ '%*d' % (10**10, 1) }}", "would make a text of 10,000,000,000"),
    "format width": ("{{ '{:>10000000000}'.format(1) }}", "would make a text of 10,000,000,000"),
    "nested format width": (
        "{{ '{:>{}}'.format(1, 10**10) }}",
        "would make a text of 10,000,000,000",
    ),
    "format filter": ("{{ '%010000000000d'|format(1) }}", "would make a text of 10,000,000,000"),
    "ljust": ("{{ 'a'.ljust(10**10) }}", "would make a text of 10,000,000,000 characters"),
    "center filter": ("{{ 'a'|center(10**10) }}", "would make a text of 10,000,000,000"),
    "replace": (
        "{{ ('a' * 1000000)|replace('', 'b' * 100000) }}",
        "would make a text of 100,001,100,000 characters",
    ),
    "str.replace": (
        "{{ ('a' * 1000000).replace('a', 'b' * 100000) }}",
        "would make a text of 100,000,000,000 characters",
    ),
    "indent": ("{{ ('x\\n' * 100000)|indent(100000) }}", "would make a text of 10,000,"),
}

_CHILD = """
import json, resource, signal, sys, time
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from accesshive.expand.templates import render

class Hung(Exception):
    pass

def hung(*_):
    raise Hung("hung: still running after 10 seconds")

signal.signal(signal.SIGALRM, hung)
for name, template in json.load(sys.stdin).items():
    start = time.monotonic()
    signal.alarm(10)
    try:
        outcome = ["rendered", "", len(render(template, {}))]
    except BaseException as exc:
        outcome = [type(exc).__name__, getattr(exc, "kind", ""), str(exc)[:300]]
    signal.alarm(0)
    print(json.dumps([name, *outcome, time.monotonic() - start]), flush=True)
"""


@pytest.fixture(scope="module")
def abused() -> dict[str, list[Any]]:
    """Each case of ABUSE rendered in a child process: case → [exception, kind, message,
    seconds] (a case the child never got to is missing)."""
    cases = {name: template for name, (template, _) in ABUSE.items()}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout
    except subprocess.TimeoutExpired as timeout:
        done = timeout.stdout.decode() if isinstance(timeout.stdout, bytes) else ""
    return {row[0]: row[1:] for row in map(json.loads, done.splitlines())}


@pytest.mark.parametrize("case", sorted(ABUSE))
def test_abuse_is_refused_quickly_with_the_limit_it_hit(
    case: str, abused: dict[str, list[Any]]
) -> None:
    assert case in abused, "the child process died before this case"
    error, kind, message, seconds = abused[case]
    assert (error, kind) == ("TemplateRefused", "limit"), message
    assert ABUSE[case][1] in message
    assert seconds < 5


def test_limits_are_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the limit a template renders; one past it, it is refused."""
    monkeypatch.setattr(limits, "MAX_LENGTH", 100)
    monkeypatch.setattr(limits, "MAX_RANGE", 10)
    assert render("{{ 'a' * 100 }}", {}) == "a" * 100
    assert render("{{ x ~ x }}", {"x": "b" * 50}) == "b" * 100
    assert render("{{ range(10)|join }}", {}) == "0123456789"
    for template in ("{{ 'a' * 101 }}", "{{ x ~ x ~ 'c' }}", "{{ range(11)|join }}"):
        with pytest.raises(TemplateRefused) as refused:
            render(template, {"x": "b" * 50})
        assert refused.value.kind == "limit"


def test_a_limit_is_refused_with_the_error_callers_catch_where_it_is_met() -> None:
    """One error for a refused render: what the sandbox raises where a limit is met is
    the ``TemplateRefused`` (a ``TemplateProblem``) that expand, validate and the
    importers catch, with its kind and whether time ran out; no second class of the same
    shape that ``render`` had to translate, and that any other way into the sandbox
    would have let escape as an unexpected error."""
    over = limits.over_limit("would make a text of 2 characters")
    late = limits.out_of_time()
    assert isinstance(over, TemplateRefused) and isinstance(over, TemplateProblem)
    assert (over.kind, over.reason, over.timed_out) == (
        "limit",
        "would make a text of 2 characters",
        False,
    )
    assert isinstance(late, TemplateRefused) and (late.kind, late.timed_out) == ("limit", True)
    assert compiling.TemplateRefused is TemplateRefused  # the names callers import, kept


def test_a_render_that_runs_out_of_time_once_is_refused_at_once_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Else a slow template would cost the time limit once per identity."""
    monkeypatch.setattr(limits, "MAX_SECONDS", 0.05)
    slow = renderer(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    )
    with pytest.raises(TemplateRefused, match=r"ran longer than 0\.05 seconds") as first:
        slow({})
    assert first.value.timed_out
    start = time.monotonic()
    for _ in range(100):
        with pytest.raises(TemplateRefused, match=r"ran longer than 0\.05 seconds"):
            slow({})
    # each would cost its 0.05 s again (5 s in all) if the template were run again
    assert time.monotonic() - start < 2.5


# --------------------------------------------------------------------------- the sandbox


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ ''.__class__ }}", "access to attribute '__class__' of 'str' object is unsafe"),
        ("{{ x.__class__.__mro__[1].__subclasses__() }}", "attribute '__class__' of 'str'"),
        ("{{ cycler.__init__.__globals__ }}", "access to attribute '__init__' of 'type' object"),
        ("{{ (x|string).__len__() }}", "access to attribute '__len__' of 'str' object is unsafe"),
        ("{% set f = range.__globals__ %}{{ f }}", "attribute '__globals__' of 'function'"),
    ],
)
def test_a_sandbox_violation_is_refused_as_such(template: str, reason: str) -> None:
    with pytest.raises(TemplateRefused) as refused:
        render(template, {"x": "a"})
    assert refused.value.kind == "sandbox"
    assert reason in str(refused.value)


# --------------------------------------------------------------------------- unchanged

CONTEXT = {
    "given_name": "Zoë",
    "family_name": "Lovelace-Byron",
    "employee_number": 123456,
    "groups": ["a", "b", "c"],
    "d": {"k": "v", "z": [1, 2]},
}

LEGIT = [
    "{{ (given_name|slug)[:1] }}{{ (family_name|slug(''))[:8] }}{{ employee_number % 10000 }}",
    "{{ given_name ~ '.' ~ employee_number }}{{ family_name|replace('-', '') }}",
    "{% for g in groups %}{{ loop.index }}{{ g }}{% if not loop.last %},{% endif %}{% endfor %}",
    "{% for g in groups if g != 'b' %}{{ g }}{% else %}none{% endfor %}"
    "{% for g in [] %}{% else %}-{% endfor %}",
    "{% macro m(a, b='z') %}<{{ a }}|{{ b }}>{% endmacro %}{{ m(given_name) }}{{ m(1, b=2) }}",
    "{% set s %}{{ given_name|upper }}-{{ employee_number }}{% endset %}{{ s }}{{ s|length }}",
    "{% filter upper %}{{ given_name }} y{% endfilter %}"
    "{% with y = given_name ~ '!' %}{{ y }}{% endwith %}",
    "{{ '%08d' % employee_number }}{{ '%s-%s' % (given_name, 1) }}{{ '{:>8}'.format(given_name) }}",
    "{{ groups|join(',') }}{{ groups|map('upper')|join }}{{ d|dictsort }}{{ d.items()|list }}",
    "{{ [1, 2] + [3] }}{{ (1, 2) }}{{ {'a': 1} }}{{ 2 ** 10 }}{{ 'ab' * 3 }}{{ -employee_number }}",
    "{{ family_name|center(20) }}|{{ family_name|indent(2, true) }}|{{ family_name|wordwrap(5) }}",
    "{{ range(5)|list }}{{ range(5)|batch(2, 0)|list }}{{ range(5)|slice(2)|list }}"
    "{{ [[1], [2]]|sum(start=[]) }}",
    "{{ family_name|tojson }}{{ d|tojson(2) }}{{ '%s!'|format(given_name) }}"
    "{{ family_name|truncate(9) }}",
    "{% set ns = namespace(c=0) %}{% for g in groups %}{% set ns.c = ns.c + 1 %}{% endfor %}"
    "{{ ns.c }}",
    "{% for x in [[1, [2]], [3]] recursive %}"
    "{% if x is iterable %}{{ loop(x) }}{% else %}{{ x }}{% endif %}{% endfor %}",
    "{{ given_name.ljust(10, '_') }}{{ ','.join(groups) }}{{ 'a\\tb'.expandtabs(4) }}"
    "{{ '7'.zfill(3) }}",
    "{% autoescape true %}{{ '<a>' ~ given_name }}{{ '<b>'|safe ~ given_name }}{% endautoescape %}",
]


@pytest.mark.parametrize("template", LEGIT)
def test_templates_within_the_limits_render_as_plain_jinja_renders_them(template: str) -> None:
    plain = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    plain.filters.update({name: ENV.filters[name] for name in ("ascii", "slug")})
    expected = plain.from_string(template).render(CONTEXT)
    assert compile_template(template).render(CONTEXT) == expected
    assert render(template, CONTEXT) == expected.strip()


def test_templates_that_only_read_variables_keep_the_fast_path() -> None:
    """The fast path never reaches jinja, so it pays for no limit."""
    for template in ("{{ email|lower }}", "{% if type == 'human' %}{{ title }}{% endif %}"):
        assert fast_renderer(template) is not None
    assert fast_renderer("{{ x }}" * 64) is not None
    assert fast_renderer("{{ x }}" * 65) is None  # what it writes is counted, by jinja


# --------------------------------------------------------------------------- diagnostics

PROJECT = """version: 1
name: sandbox
sources:
  app:
    kind: sql
    connection: {url: "sqlite:///app.db", create_tables: true}
    account:
      name_attribute: login
      schema:
        login: {required: true}
        note: {}
        pad: {}
      create:
        login: "{{ id }}"
        note: "{{ id.__class__.__name__ }}"
      sync:
        pad: "{{ 'x' * n }}"
    entitlements: {staff: {}}
  wiki:
    kind: sql
    connection: {url: "sqlite:///wiki.db", create_tables: true}
    account:
      create: {user: "{{ id }}"}
    entitlements: {staff: {}}
access_profiles:
  base: {source: app, entitlements: [staff]}
  wiki: {source: wiki, entitlements: [staff]}
"""


def _repository(root: Path, people: int, huge: set[int], project: str = PROJECT) -> Path:
    (root / "identities").mkdir(parents=True)
    (root / "accesshive.yaml").write_text(project)
    for part in range(2):  # two identity files, to check the render cache of each
        lines = ["identities:"]
        for i in range(part, people, 2):
            lines += [
                f"  p{i:04d}:",
                "    type: human",
                "    access_profiles: [base, wiki]",
                f"    attributes: {{n: {10**9 if i in huge else 3}}}",
            ]
        (root / "identities" / f"part{part}.yaml").write_text("\n".join(lines) + "\n")
    return root


def test_a_refused_template_is_reported_once_for_all_the_identities(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo", 1000, huge={7, 500})
    for _ in range(2):  # the second time with the render cache of the first
        result = validate_repository(repo, TODAY)
        assert not result.ok
        found = [(d.code, str(d.location), d.message) for d in result.diagnostics]
        assert found == [
            (
                "template-sandbox",
                "accesshive.yaml:15:9",
                "template '{{ id.__class__.__name__ }}' of account attribute 'note' on source "
                "'app' breaks the sandbox: access to attribute '__class__' of 'str' object is "
                "unsafe (rendering for identity 'p0000' and 999 other identities)",
            ),
            (
                "template-limit",
                "accesshive.yaml:17:9",
                "template '{{ 'x' * n }}' of account attribute 'pad' on source 'app' was "
                "refused: it would make a text of 1,000,000,000 characters; the limit is "
                "1,000,000 (rendering for identity 'p0007' and 1 other identity)",
            ),
        ]
        assert [str(r) for r in result.diagnostics[1].related] == ["identities/part1.yaml:14:3"]


def test_expand_gives_no_accounts_to_an_identity_a_template_was_refused_for(
    tmp_path: Path,
) -> None:
    """Its accounts would lack the attribute, and the render cache must not keep them."""
    project = PROJECT.replace("{{ id.__class__.__name__ }}", "{{ id }}")
    config = load_config(_repository(tmp_path / "repo", 4, huge={1}, project=project))
    desired, problems = expand(config, TODAY)
    assert [p.code for p in problems] == ["template-limit"]
    assert sorted(iid for _, iid in desired.accounts) == sorted(2 * ["p0000", "p0002", "p0003"])
    assert desired.accounts[("app", "p0000")].attributes["pad"] == "xxx"


def test_plan_with_a_refused_template_exits_1(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo", 3, huge=set())
    result = CliRunner().invoke(main, ["plan", str(repo), "--today", "2026-11-29"])
    assert result.exit_code == 1
    assert "accesshive.yaml:15:9: error[template-sandbox]" in result.output
    assert "(rendering for identity 'p0000' and 2 other identities)" in result.output
    assert "Traceback" not in result.output
