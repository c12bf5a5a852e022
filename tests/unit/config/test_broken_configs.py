"""Every deliberately broken config gives its precise error, at its precise place."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from accesshive.operations import validate_repository
from tests.conftest import EXAMPLES, FIXTURES

BROKEN = FIXTURES / "broken"
TODAY = dt.date(2026, 11, 29)

# case → (code, "file:line:column", message)
EXPECTED: dict[str, tuple[str, str, str]] = {
    "yaml_syntax": (
        "yaml-syntax",
        "identities.yaml:5:15",
        "while parsing a flow sequence that started at line 4, column 12: did not find "
        "expected ',' or ']'",
    ),
    "duplicate_key": ("duplicate-key", "identities.yaml:10:3", "duplicate key 'ada'"),
    "duplicate_id": (
        "duplicate-id",
        "more/identities.yaml:2:3",
        "identity 'ada' is declared twice",
    ),
    "unknown_key": ("unknown-key", "identities.yaml:4:5", "unknown key 'rolse' in identities.ada"),
    "wrong_type": (
        "wrong-type",
        "sources.yaml:4:5",
        "sources.app.concurrency: input should be a valid integer (got '4')",
    ),
    "unknown_kind": (
        "wrong-type",
        "sources.yaml:3:5",
        "sources.app.kind: input should be 'scim', 'ldap', 'google_workspace', 'sql', "
        "'manual' or 'vault' (got 'mysql')",
    ),
    "missing_kind": ("missing-key", "sources.yaml:2:3", "sources.app needs the key 'kind'"),
    "invalid_id": (
        "invalid-id",
        "identities.yaml:2:3",
        "'ada lovelace' in identities is not a valid id",
    ),
    "dangling_role": ("unknown-reference", "identities.yaml:4:13", "role 'staf' is not declared"),
    "dangling_entitlement": (
        "unknown-reference",
        "access.yaml:4:20",
        "entitlement 'user' is not declared on source 'app'",
    ),
    "dangling_lifecycle": (
        "unknown-reference",
        "identities.yaml:4:5",
        "lifecycle state 'retired' is not declared",
    ),
    "dangling_profile_source": (
        "unknown-reference",
        "access.yaml:3:5",
        "source 'ap' is not declared",
    ),
    "api_key_account": (
        "type-not-allowed",
        "identities.yaml:10:3",
        "identity 'ci-key' (api_key) is credential-only and never gets an account, but is "
        "assigned source 'app' (assigned by platform)",
    ),
    "missing_owner": (
        "missing-owner",
        "identities.yaml:10:3",
        "identity 'deploy-bot' is a service_account without an owner",
    ),
    "wrong_attribute_type": (
        "wrong-type",
        "identities.yaml:9:7",
        "identity 'ada' attribute 'employee_number' must be an integer, got '12a'",
    ),
    "wrong_account_type": (
        "wrong-type",
        "identities.yaml:2:3",
        "identity 'ada': attribute 'staff_id' on source 'app' must be an integer, got 'E-17'",
    ),
    "missing_required_attribute": (
        "missing-required",
        "identities.yaml:5:5",
        "identity 'ada' lacks the required attribute 'family_name'",
    ),
    "missing_template_attribute": (
        "undefined-variable",
        "identities.yaml:2:3",
        "identity 'ada' has no attribute 'family_name', which account attribute 'login' on "
        "source 'app' needs",
    ),
    "template_syntax": (
        "template-syntax",
        "sources.yaml:11:9",
        "template syntax error: unexpected '}'",
    ),
    "undefined_template_variable": (
        "undefined-variable",
        "sources.yaml:11:9",
        "template variable 'familyname' is not declared in identity_attributes",
    ),
    "template_sandbox": (
        "template-sandbox",
        "sources.yaml:11:9",
        "template '{{ given_name.__class__.__mro__ }}' of account attribute 'login' on source "
        "'app' breaks the sandbox: access to attribute '__class__' of 'str' object is unsafe "
        "(rendering for identity 'ada')",
    ),
    "template_limit": (
        "template-limit",
        "sources.yaml:11:9",
        "template '{{ given_name ~ '.' * 10**9 }}' of account attribute 'login' on source 'app' "
        "was refused: it would make a text of 1,000,000,000 characters; the limit is 1,000,000 "
        "(rendering for identity 'ada')",
    ),
    "inline_secret": (
        "inline-secret",
        "sources.yaml:6:7",
        "sources.app.connection.password: 'password' holds a clear-text secret",
    ),
    "url_password": (
        "inline-secret",
        "sources.yaml:5:7",
        "sources.app.connection.url: the URL holds a clear-text password",
    ),
    "managed_api_key": (
        "invalid-value",
        "identities.yaml:14:7",
        "identity 'ci-key' is of type api_key: only shared credentials can be managed "
        "(a password accesshive generates on a Google Workspace account)",
    ),
    "policy_unknown_source": (
        "unknown-reference",
        "policies/review.yaml:5:17",
        "source 'ap' is not declared",
    ),
    "undeclared_account_kind": (
        "unknown-reference",
        "access.yaml:7:5",
        "access profile 'app-admin' grants to account kind 'adnim', which source 'app' "
        "does not declare",
    ),
    "same_name_kinds": (
        "ambiguous-account",
        "sources.yaml:14:9",
        "account kinds 'default' and 'admin' of source 'app' render the same login "
        "('{{ given_name|lower }}.{{ family_name|lower }}') for every identity: one "
        "identity's two accounts would be one account",
    ),
    "not_utf8": ("not-utf8", "identities.yaml:7:25", "byte 0xe7 is not valid UTF-8"),
    "alias_bomb": (
        "alias-bomb",
        "bomb.yaml",
        "aliases expand this 424-byte file to more than 100,424 values",
    ),
    "too_deep": ("too-deep", "deep.yaml:1:1", "document is nested more than 64 levels deep"),
    "not_a_mapping": (
        "not-a-mapping",
        "identities.yaml:1:1",
        "the file holds list, not a mapping of sections",
    ),
}


def _snapshot_tree(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_broken_config_reports_exact_problem(case: str) -> None:
    root = BROKEN / case
    before = _snapshot_tree(root)
    result = validate_repository(root, TODAY)
    assert not result.ok
    errors = [d for d in result.diagnostics if d.is_error]
    code, where, message = EXPECTED[case]
    assert [(d.code, str(d.location), d.message) for d in errors] == [(code, where, message)]
    assert errors[0].hint or code in {"wrong-type", "unknown-kind"}
    assert _snapshot_tree(root) == before, "validate must change nothing"


def test_every_broken_case_is_asserted() -> None:
    cases = {p.name for p in BROKEN.iterdir() if p.is_dir()}
    assert cases - {"no_project"} == set(EXPECTED)


def test_missing_project_file_names_the_directory() -> None:
    result = validate_repository(BROKEN / "no_project", TODAY)
    (d,) = result.diagnostics
    assert d.code == "no-project"
    assert "has no accesshive.yaml" in d.message


def test_the_missing_project_hint_suggests_the_example_only_where_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a checkout, the hint names examples/quickstart (which runs as printed);
    from anywhere else it does not send the user to a directory that is not there."""
    monkeypatch.chdir(tmp_path)
    (elsewhere,) = validate_repository(BROKEN / "no_project", TODAY).diagnostics
    assert "examples/quickstart" not in (elsewhere.hint or "")
    (tmp_path / "examples" / "quickstart").mkdir(parents=True)
    (tmp_path / "examples" / "quickstart" / "accesshive.yaml").write_text("version: 1\n")
    (here,) = validate_repository(BROKEN / "no_project", TODAY).diagnostics
    assert "(try examples/quickstart)" in (here.hint or "")


def test_unknown_key_suggests_the_close_one() -> None:
    result = validate_repository(BROKEN / "unknown_key", TODAY)
    assert result.diagnostics[0].hint == "did you mean 'roles'?"


def test_duplicate_id_points_at_the_first_declaration() -> None:
    result = validate_repository(BROKEN / "duplicate_id", TODAY)
    assert [str(r) for r in result.diagnostics[0].related] == ["identities.yaml:2:3"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    for name in ("accesshive.yaml", "sources.yaml", "access.yaml"):
        (tmp_path / name).write_bytes((BROKEN / "unknown_key" / name).read_bytes())
    (tmp_path / "identities.yaml").write_text(
        (BROKEN / "unknown_key" / "identities.yaml").read_text().replace("[staff]", "[staf]")
        + "  bot:\n    type: service_account\n    lifecycle_state: gone\n"
    )
    result = validate_repository(tmp_path, TODAY)
    codes = sorted(d.code for d in result.diagnostics)
    assert codes == ["missing-owner", "unknown-key", "unknown-reference"]


def test_oversized_file_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accesshive.config import yamlio

    for name in ("accesshive.yaml", "sources.yaml", "access.yaml", "identities.yaml"):
        (tmp_path / name).write_bytes((BROKEN / "unknown_key" / name).read_bytes())
    monkeypatch.setattr(yamlio, "MAX_FILE_BYTES", 4096)
    (tmp_path / "huge.yaml").write_text("# padding\n" * 1000)
    result = validate_repository(tmp_path, TODAY)
    (d,) = [d for d in result.diagnostics if d.code == "file-too-large"]
    assert str(d.location) == "huge.yaml"
    assert d.message == "file is 10,000 bytes; the limit is 4,096"


def test_default_size_limit(tmp_path: Path) -> None:
    from accesshive.config.yamlio import MAX_FILE_BYTES, YamlProblem, parse_file

    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(YamlProblem):
        parse_file(big, "big.yaml")


def test_a_syntax_error_names_where_the_unclosed_bracket_opened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(BROKEN / "yaml_syntax")
    (d,) = validate_repository(BROKEN / "yaml_syntax", TODAY).diagnostics
    assert [str(r) for r in d.related] == ["identities.yaml:4:12"]
    assert d.render().startswith("identities.yaml:5:15: error[yaml-syntax]: ")
    assert d.render().endswith("\n  see: identities.yaml:4:12")


def _quickstart(tmp_path: Path, file: str, old: str, new: str) -> Path:
    repo = tmp_path / "qs"
    shutil.copytree(EXAMPLES / "quickstart", repo)
    path = repo / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return repo


def test_references_into_a_file_that_did_not_parse_are_not_reported_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unclosed ``[`` in access.yaml hides the roles it declares: an identity naming
    one (``ops-admin``) is not "not declared", a second and wrong error; one warning says
    the references could not be checked."""
    repo = _quickstart(tmp_path, "access.yaml", "entitlements: [readers]", "entitlements: [readers")
    monkeypatch.chdir(repo)  # the file that did not parse is named from here
    result = validate_repository(repo, TODAY)
    errors = [d for d in result.diagnostics if d.is_error]
    assert [(d.code, str(d.location)) for d in errors] == [("yaml-syntax", "access.yaml:5:12")]
    assert errors[0].message.startswith("while parsing a flow sequence that started at line 4")
    assert [str(r) for r in errors[0].related] == ["access.yaml:4:19"]
    (note,) = [d for d in result.diagnostics if not d.is_error]
    assert (note.code, str(note.location)) == ("not-checked", "access.yaml")
    assert note.message.startswith(
        "cannot check 1 reference (role 'ops-admin'): access.yaml did not parse"
    )
    assert [(str(r), r.label) for r in note.related] == [
        ("identities/people.yaml:13:13", "role 'ops-admin'")
    ]


def test_a_reference_is_still_checked_when_every_file_parsed(tmp_path: Path) -> None:
    repo = _quickstart(tmp_path, "identities/people.yaml", "[ops-admin]", "[ops-admim]")
    (d,) = validate_repository(repo, TODAY).diagnostics
    assert (d.code, d.hint) == ("unknown-reference", "did you mean 'ops-admin'?")


@pytest.mark.parametrize(
    ("old", "new", "where", "hint"),
    [
        # a key dedented below its siblings: noticed on the next line
        (
            "      name_attribute: login",
            "    name_attribute: login",
            "sources/wiki.yaml:17:13",
            "a key where none may start: check this line's indentation",
        ),
        # a key one space left of its siblings, right of its parent's: the parser says
        # "did not find expected key" and points at the mapping above
        (
            "      family_name: Lovelace",
            "     family_name: Lovelace",
            "identities/people.yaml:6:6",
            "this line is indented 5 spaces: between the line above (6) and the keys of the "
            "mapping it closes into (4); indent it like the keys it belongs with",
        ),
        # a tab inside a mapping the parser is reading: not a bracket left open
        (
            "      family_name: Hopper",
            "\tfamily_name: Hopper",
            "identities/people.yaml:16:1",
            "YAML indents with spaces only: replace the tab at this position with spaces",
        ),
        (
            "      name_attribute: login",
            "\tname_attribute: login",
            "sources/wiki.yaml:16:1",
            "a tab?",
        ),
    ],
)
def test_an_indentation_slip_is_named_as_the_likely_cause(
    tmp_path: Path, old: str, new: str, where: str, hint: str
) -> None:
    """The parser's words ("mapping values are not allowed", "cannot start any token")
    do not say what to fix; the hint names the usual slip, indentation or a tab."""
    repo = _quickstart(tmp_path, where.split(":")[0], old, new)
    (error,) = [d for d in validate_repository(repo, TODAY).diagnostics if d.is_error]
    assert (error.code, str(error.location)) == ("yaml-syntax", where)
    assert error.hint is not None and error.hint.startswith(hint), error.hint
