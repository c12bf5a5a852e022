"""A template writes plain data, the same every run: one that writes a method, a
function, an iterator or an object, or draws a random value, is refused, at the
template, saying what to write instead; the fast path and jinja agree; and a template
that uses every global the sandbox keeps plans to the same bytes every run."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from accesshive.expand.fast_templates import fast_renderer
from accesshive.expand.templates import TemplateProblem, TemplateRefused, render, renderer
from accesshive.operations import validate_repository

TODAY = dt.date(2026, 11, 29)
CONTEXT: dict[str, Any] = {
    "email": "Ada@Example.org",
    "groups": ["b", "a"],
    "d": {"k": "v"},
}
SAME = "templates must give the same value every run"
METHOD = "renders the method `upper`, not a value: call it, e.g. `email.upper()`, not `email.upper`"

# template → what the refusal says
REFUSED: dict[str, str] = {
    "{{ lipsum(1, html=False, min=2, max=3) }}": f"`lipsum` is not available: {SAME}",
    "{{ lipsum }}": f"`lipsum` is not available: {SAME}",
    "{{ lipsum|lower }}": f"`lipsum` is not available: {SAME}",
    "{{ groups|random }}": f"the `random` filter is not available: {SAME}",
    "{{ email.upper }}": METHOD,
    "{{ range }}": "renders the function `range`, not a value: call it, e.g. `range(...)`",
    "{{ cycler }}": "renders the function `cycler`, not a value",
    "{{ joiner }}": "renders the function `joiner`, not a value",
    "{{ namespace }}": "renders the function `namespace`, not a value",
    "{{ dict }}": "renders the function `dict`, not a value",
    "{{ self }}": "renders a TemplateReference object, not a value",
    "{% set c = cycler('a') %}{{ c }}": "renders a Cycler object, not a value",
    "{% set ns = namespace(a=1) %}{{ ns }}": "renders a Namespace object, not a value",
    "{% for g in groups %}{{ loop }}{% endfor %}": "renders a LoopContext, not a value",
    "{% macro m() %}{% endmacro %}{{ m }}": "renders the function `m`, not a value",
    "{{ groups|map('upper') }}": "renders a generator, not a value: make it a list with `|list`",
    "{{ d.items() }}": "renders a dict_items, not a value",
    "{{ range(3) }}": "renders a range, not a value",
    "{{ email.encode() }}": "renders a bytes object, not a value",
    # a method turned into text on the way: each would write its memory address
    "{{ email.upper ~ '' }}": METHOD,
    "{{ '%s' % email.upper }}": METHOD,
    "{{ '{}'.format(email.upper) }}": METHOD,
    "{{ '{!r}'.format(email.upper) }}": METHOD,
    "{{ '{0.upper}'.format(email) }}": "renders the method `upper`, not a value",
    "{{ '%r' % email.upper }}": METHOD,
    "{{ [email]|join(', ', attribute='upper') }}": "renders the method `upper`, not a value",
    "{{ email.upper|string }}": METHOD,
    "{{ email.upper|lower }}": METHOD,
    "{{ email.upper|slug }}": METHOD,
    "{{ email.upper|pprint }}": METHOD,
    "{{ [email.upper] }}": METHOD,
    "{{ {'a': email.upper} }}": METHOD,
    "{{ [email.upper]|join }}": METHOD,
    "{{ groups|join(email.upper) }}": METHOD,
    "{{ 'x'|replace('x', email.upper) }}": METHOD,
    "{{ email.upper|replace('-', '') }}": METHOD,  # the shorter replace, unbounded
    "{% set m = email.upper %}{{ m }}": METHOD,
}


@pytest.mark.parametrize("template", sorted(REFUSED))
def test_a_template_that_writes_no_plain_value_is_refused_saying_what_to_write(
    template: str,
) -> None:
    with pytest.raises(TemplateRefused) as refused:
        render(template, CONTEXT)
    assert refused.value.kind == "value"
    assert REFUSED[template] in str(refused.value)
    assert "0x" not in str(refused.value)


KEPT = {
    "{{ range(3)|join('-') }}": "0-1-2",
    "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}": "aba",
    "{% set j = joiner('+') %}{% for g in groups %}{{ j() }}{{ g }}{% endfor %}": "b+a",
    "{% set ns = namespace(n=0) %}{% for g in groups %}{% set ns.n = ns.n + 1 %}"
    "{% endfor %}{{ ns.n }}": "2",
    "{{ dict(a=1) }}{{ dict(b=2)|dictsort }}": "{'a': 1}[('b', 2)]",
    "{{ email.upper() }}{{ groups|map('upper')|join }}{{ d.items()|list }}": (
        "ADA@EXAMPLE.ORG" + "BA" + "[('k', 'v')]"
    ),
    "{{ groups }}{{ (1, 2.5) }}{{ none }}{{ true }}{{ d }}": "['b', 'a'](1, 2.5)NoneTrue{'k': 'v'}",
    "{% if lipsum is defined %}x{% else %}y{% endif %}": "y",
}


@pytest.mark.parametrize("template", sorted(KEPT))
def test_the_globals_kept_make_plain_values(template: str) -> None:
    assert render(template, CONTEXT) == KEPT[template]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ email|dictsort }}", "'str' object has no attribute 'items'"),
        ("{{ '%(k)s' % d }}", "'k'"),
    ],
)
def test_a_filter_or_operator_given_the_wrong_value_is_a_template_problem(
    template: str, message: str
) -> None:
    """Not an exception that ends validate or plan with a traceback."""
    with pytest.raises(TemplateProblem, match="template failed: ") as problem:
        render(template, {**CONTEXT, "d": {}})
    assert message in str(problem.value)


# --------------------------------------------------------------------------- both paths

VALUES: list[Any] = [
    "Zoë",
    42,
    2.5,
    True,
    None,
    dt.date(2026, 1, 2),
    ["a", 1, dt.date(2026, 1, 2)],
    {"givenName": "Ada", "emails": [{"value": "a@x", "primary": True}]},
]


@pytest.mark.parametrize(
    "value", VALUES, ids=["text", "int", "float", "bool", "none", "date", "list", "mapping"]
)
def test_the_fast_path_and_jinja_write_what_they_are_given_alike(value: Any) -> None:
    """What a template is given (identity attributes, a pushed SCIM user's JSON) is plain
    data: the fast path writes it as it is, and jinja writes it the same, refusing nothing."""
    fast, slow = "{{ v }}", "{{ v }}{{ '' }}"
    assert fast_renderer(fast) is not None
    assert fast_renderer(slow) is None  # a constant: only jinja takes it
    assert render(fast, {"v": value}) == render(slow, {"v": value}) == str(value)


@pytest.mark.parametrize("template", ["{{ lipsum }}", "{{ lipsum|lower }}", "{{ self }}"])
def test_a_name_jinja_resolves_is_left_to_jinja_by_the_fast_path(template: str) -> None:
    """``{{ lipsum }}`` has the shape the fast path takes; were it taken, the identity
    would lack an attribute ``lipsum`` (once per identity) instead of the template being
    refused (once). An identity that has the attribute gets it, on either path."""
    assert fast_renderer(template) is None
    with pytest.raises(TemplateRefused) as refused:
        renderer(template)(CONTEXT)
    assert refused.value.kind == "value"
    if "lipsum" in template:
        assert render(template, {"lipsum": "Dolor"}) == render(
            template.replace(" }}", " ~ '' }}"), {"lipsum": "Dolor"}
        )
        assert render(template, {"lipsum": "Dolor"}) in ("Dolor", "dolor")


# --------------------------------------------------------------------------- the repository

PROJECT = """version: 1
name: values
{schema}sources:
  app:
    kind: sql
    connection: {{url: "sqlite:///app.db", create_tables: true}}
    account:
      name_attribute: login
      schema:
        login: {{required: true}}
        note: {{}}
        pad: {{}}
        word: {{}}
      create:
        login: "{{{{ id }}}}"
        note: "{{{{ email.upper }}}}"
        pad: "{{{{ range }}}}"
        word: "{{{{ lipsum(1, html=False, min=2, max=3) }}}}"
    entitlements: {{staff: {{}}}}
access_profiles:
  base: {{source: app, entitlements: [staff]}}
"""


def _repository(root: Path, project: str, people: int = 3) -> Path:
    (root / "identities").mkdir(parents=True)
    (root / "accesshive.yaml").write_text(project)
    lines = ["identities:"]
    for i in range(people):
        lines += [
            f"  p{i}:",
            "    type: human",
            "    access_profiles: [base]",
            f"    attributes: {{email: p{i}@example.org, given_name: Given{i}}}",
        ]
    (root / "identities" / "people.yaml").write_text("\n".join(lines) + "\n")
    return root


def test_validate_refuses_each_template_once_at_its_line(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo", PROJECT.format(schema=""))
    for _ in range(2):  # the second time with the render cache of the first
        result = validate_repository(repo, TODAY)
        assert not result.ok
        found = [(d.code, str(d.location), d.message) for d in result.diagnostics]
        of = "of account attribute '{}' on source 'app' was refused: "
        whom = " (rendering for identity 'p0' and 2 other identities)"
        assert found == [
            (
                "template-value",
                "accesshive.yaml:16:9",
                "template '{{ email.upper }}' " + of.format("note") + "it " + METHOD + whom,
            ),
            (
                "template-value",
                "accesshive.yaml:17:9",
                "template '{{ range }}' "
                + of.format("pad")
                + "it renders the function `range`, not a value: call it, e.g. `range(...)`"
                + whom,
            ),
            (
                "template-value",
                "accesshive.yaml:18:9",
                "template '{{ lipsum(1, html=False, min=2, max=3) }}' "
                + of.format("word")
                + f"`lipsum` is not available: {SAME}"
                + whom,
            ),
        ]
        assert all("call methods" in (d.hint or "") for d in result.diagnostics)


def test_validate_refuses_lipsum_before_rendering_when_identity_attributes_are_declared(
    tmp_path: Path,
) -> None:
    schema = "identity_attributes:\n  email: {type: email}\n  given_name: {type: string}\n"
    repo = _repository(tmp_path / "repo", PROJECT.format(schema=schema))
    result = validate_repository(repo, TODAY)
    found = [(d.code, str(d.location), d.message) for d in result.diagnostics]
    assert found == [
        (
            "template-value",
            "accesshive.yaml:21:9",
            f"template '{{{{ lipsum(1, html=False, min=2, max=3) }}}}' was refused: "
            f"`lipsum` is not available: {SAME}",
        )
    ]


EVERY_GLOBAL = (
    "{% set c = cycler('x', 'y') %}{% set j = joiner('.') %}{% set ns = namespace(n=0) %}"
    "{% for i in range(3) %}{% set ns.n = ns.n + i %}{{ j() }}{{ c.next() }}{% endfor %}"
    "-{{ ns.n }}-{{ dict(g=given_name)|dictsort|first|last }}"
)


def _plan(repo: Path, out: Path, seed: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCESSHIVE_CACHE_DIR": "off", "PYTHONHASHSEED": seed}
    command = ["plan", str(repo), "--out", str(out), "--today", TODAY.isoformat()]
    return subprocess.run(
        [sys.executable, "-m", "accesshive", *command],
        env=env,
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=120,
    )


def test_the_same_repository_plans_to_the_same_bytes_with_every_global_kept(
    tmp_path: Path,
) -> None:
    project = (
        PROJECT.format(schema="")
        .replace('"{{ email.upper }}"', '"{{ email.upper() }}"')
        .replace('"{{ range }}"', '"{{ range(2)|join }}"')
        .replace('"{{ lipsum(1, html=False, min=2, max=3) }}"', repr(EVERY_GLOBAL))
    )
    repo = _repository(tmp_path / "repo", project)
    plans = []
    for seed in ("1", "2"):  # two processes: other memory addresses, other string hashes
        out = tmp_path / f"plan{seed}.json"
        done = _plan(repo, out, seed)
        assert done.returncode in (0, 2), done.stdout + done.stderr
        plans.append(out.read_bytes())
    assert plans[0] == plans[1]
    text = plans[0].decode()
    assert '"word": "x.y.x-3-Given0"' in text, text[:2000]
    assert '"note": "P0@EXAMPLE.ORG"' in text and '"pad": "01"' in text


def test_a_plan_with_lipsum_is_refused_rather_than_drawn(tmp_path: Path) -> None:
    """It used to give another plan digest each run (and the render cache kept the first)."""
    project = PROJECT.format(schema="").replace('"{{ email.upper }}"', '"{{ id }}"')
    project = project.replace('"{{ range }}"', '"{{ id }}"')
    repo = _repository(tmp_path / "repo", project)
    done = _plan(repo, tmp_path / "plan.json", "1")
    assert done.returncode == 1
    assert "error[template-value]" in done.stdout + done.stderr
    assert f"`lipsum` is not available: {SAME}" in done.stdout + done.stderr
    assert not (tmp_path / "plan.json").exists()
