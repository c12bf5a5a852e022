"""Templates: the fast path renders exactly what jinja renders, and the sandbox holds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accesshive.expand.compiling import compile_template
from accesshive.expand.fast_templates import fast_renderer
from accesshive.expand.templates import TemplateProblem, render

FILTERS = ["lower", "upper", "trim", "ascii", "slug"]

piece = st.one_of(
    st.text(alphabet="ab .-_@", min_size=1, max_size=4).filter(
        lambda t: "{" not in t and "}" not in t
    ),
    st.tuples(
        st.sampled_from(["given", "family", "n"]), st.lists(st.sampled_from(FILTERS), max_size=3)
    ).map(lambda t: "{{ " + "|".join([t[0], *t[1]]) + " }}"),
)


@given(
    pieces=st.lists(piece, min_size=1, max_size=5),
    given_name=st.text(max_size=12),
    family=st.text(max_size=12),
    n=st.integers(-5, 10**6),
)
def test_fast_path_matches_jinja(pieces: list[str], given_name: str, family: str, n: int) -> None:
    template = "".join(pieces)
    context = {"given": given_name, "family": family, "n": n}
    fast = fast_renderer(template)
    assert fast is not None
    assert fast(context) == compile_template(template).render(context)


def test_richer_templates_go_to_jinja() -> None:
    assert fast_renderer("{% for x in y %}a{% endfor %}") is None
    assert fast_renderer("{% if x > 1 %}a{% endif %}") is None
    assert fast_renderer("{{ x.y }}") is None
    assert fast_renderer("{{ x|replace('a', 'b') }}") is None
    assert render("{{ x|replace('a', 'b') }}", {"x": "aa"}) == "bb"


def test_missing_variable_is_an_error_on_both_paths() -> None:
    for template in ("{{ family_name|lower }}", "{% if True %}{{ family_name }}{% endif %}"):
        with pytest.raises(TemplateProblem, match="has no attribute 'family_name'"):
            render(template, {})


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(TemplateProblem):
        render("{{ x.__class__.__mro__[1].__subclasses__() }}", {"x": "a"})


tests = st.one_of(
    st.sampled_from(["given", "family", "maybe", "n"]),
    st.sampled_from(["given", "maybe"]).map(lambda n: f"{n} is defined"),
    st.sampled_from(["given", "maybe"]).map(lambda n: f"{n} is undefined"),
    st.tuples(
        st.sampled_from(["given", "n"]),
        st.sampled_from(["==", "!="]),
        st.sampled_from(["'a'", "''", "1", "0", "true", "none"]),
    ).map(" ".join),
).flatmap(lambda t: st.sampled_from([t, f"not {t}"]))

conditional = st.recursive(
    piece,
    lambda inner: st.tuples(
        tests, st.lists(inner, max_size=2), st.lists(tests, max_size=1), st.lists(inner, max_size=2)
    ).map(
        lambda t: (
            "{% if "
            + t[0]
            + " %}"
            + "".join(t[1])
            + "".join("{% elif " + e + " %}x" for e in t[2])
            + "{% else %}"
            + "".join(t[3])
            + "{% endif %}"
        )
    ),
    max_leaves=4,
)


@given(
    pieces=st.lists(conditional, min_size=1, max_size=3),
    given_name=st.one_of(st.text(max_size=6), st.just("a"), st.just("")),
    n=st.integers(-1, 2),
    maybe=st.one_of(st.none(), st.text(max_size=3)),
)
def test_conditionals_take_the_fast_path_and_render_what_jinja_renders(
    pieces: list[str], given_name: str, n: int, maybe: str | None
) -> None:
    """Tests of a variable (truth, defined, ==, != a literal, not) render alike on both
    paths, and a variable that is missing fails alike on both."""
    template = "".join(pieces)
    context: dict[str, object] = {"given": given_name, "family": "F", "n": n}
    if maybe is not None:
        context["maybe"] = maybe
    fast = fast_renderer(template)
    assert fast is not None
    try:
        expected = compile_template(template).render(context)
    except Exception:
        with pytest.raises(TemplateProblem, match="has no attribute 'maybe'"):
            fast(context)
        return
    assert fast(context) == expected


def test_names_jinja_keeps_as_globals_go_to_jinja() -> None:
    assert fast_renderer("{{ range }}") is None
    assert fast_renderer("{% if dict is defined %}x{% endif %}") is None


def test_equal_values_of_different_types_render_as_themselves() -> None:
    """1, 1.0 and True are equal (and equal keys) in Python: what is remembered of one
    must never be given for another."""
    template = "{% if x %}{{ x }}{% endif %}"
    assert [render(template, {"x": v}) for v in (1, True, 1.0)] == ["1", "True", "1.0"]
    slug = compile_template("{{ x|slug ~ '' }}").environment.filters["slug"]
    assert [slug(v) for v in (1.0, True, 1)] == ["1.0", "true", "1"]


def test_jinja_special_names_go_to_jinja() -> None:
    assert fast_renderer("{% if self %}s{% endif %}") is None
    assert fast_renderer("{{ self }}") is None
