"""Templates: the fast path renders exactly what jinja renders, and the sandbox holds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accesshive.config.templates import TemplateProblem, compile_template, fast_renderer, render

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
    assert fast_renderer("{% if x %}a{% endif %}") is None
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
