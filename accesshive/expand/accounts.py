"""Rendering an identity's account attributes: every source's templates, rendered from
the identity and coerced to the source's declared types.

Two ways, with one result:

- ``Program``: one generated Python function per combination of sources, which
  renders and checks every attribute of an identity's accounts in one call, each
  distinct template (``{{ email|lower }}`` on five sources) once. Most of a large
  org's expand time was the per-attribute bookkeeping around templates that only
  read a variable; generated code has none. It decides nothing of its own: when
  anything fails (a missing variable, a value of the wrong type) it gives up, and
- ``render_account`` renders the accounts one attribute at a time and says what is
  wrong with each, as a diagnostic pointing at the identity and the template; a
  template the sandbox refuses is the template's problem, not the identity's, and
  ``Refusals`` reports it once, at the template, however many identities it fails for.

The generated code holds only literals (``repr`` of attribute names, template text
and variable names), the fast template expressions of ``expand/fast_templates.py``, and
names bound to the callables of this module: nothing a repository says becomes code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from accesshive.config import Config
from accesshive.config.account_kinds import DEFAULT_KIND
from accesshive.config.model import AttributeSpec, Source
from accesshive.diagnostics import Diagnostic, Location
from accesshive.expand.compiling import is_template
from accesshive.expand.fast_templates import FAST_NAMESPACE, fast_expression
from accesshive.expand.plain_values import VALUE_HINT
from accesshive.expand.templates import TemplateProblem, TemplateRefused, renderer
from accesshive.expand.values import EMAIL, ValueProblem, coercer, is_empty


@dataclass(frozen=True)
class Attribute:
    name: str
    key: int
    """Equal for attributes that render and coerce alike (same template, same type)."""
    template: str | int | bool
    spec: AttributeSpec | None
    """None: the schema does not declare the attribute, the rendered value stands."""
    render: Callable[[Mapping[str, Any]], Any]
    coerce: Callable[[Any], Any] | None

    @property
    def required(self) -> bool:
        return self.spec is not None and self.spec.required


@dataclass(frozen=True)
class SourcePlan:
    """What every account of a source renders alike, worked out once per source."""

    synced: frozenset[str]
    attributes: tuple[Attribute, ...]
    """In attribute order."""


def source_plans(config: Config) -> dict[tuple[str, str], SourcePlan]:
    """Each account source's plan, per account kind. Attributes with the same template and
    declared type share one key, across sources and kinds: an identity's
    ``{{ email|lower }}`` is rendered and checked once, however many accounts hold it."""
    keys: dict[tuple[Any, ...], int] = {}
    plans: dict[tuple[str, str], SourcePlan] = {}
    for sid, source in config.sources.items():
        if source.kind == "vault":
            continue
        for kind in source.account_kinds:
            plans[(sid, kind)] = _source_plan(source, kind, keys)
    return plans


def _source_plan(source: Source, kind: str, keys: dict[tuple[Any, ...], int]) -> SourcePlan:
    schema = source.account.schema_
    attributes = []
    _, sync = source.kind_templates(kind)
    for attr, template in sorted(source.kind_attributes(kind).items()):
        spec = schema.get(attr)
        same = (
            type(template),
            template,
            None if spec is None else (spec.type, spec.required, spec.max_length),
            None if spec is None else spec.multi_valued,
        )
        key = keys.setdefault(same, len(keys))
        attributes.append(
            Attribute(
                attr,
                key,
                template,
                spec,
                renderer(template),
                coercer(spec) if spec is not None else None,
            )
        )
    return SourcePlan(frozenset(sync), tuple(attributes))


# --------------------------------------------------------------------------- generated


Program = Callable[[Mapping[str, Any]], tuple[dict[str, Any], ...]]
"""An identity's template context → the attributes of each of its accounts, in the
order of the plans it was made for. Raises when anything is wrong (then render the
identity with ``render_account``, which says what)."""


class _GiveUp(Exception):
    """A value the generated code will not decide about (``render_account`` will)."""


def program(plans: Sequence[SourcePlan]) -> Program:
    """The generated function for an identity with accounts on these sources."""
    lines = ["def program(c):"]
    namespace: dict[str, Any] = {**FAST_NAMESPACE, "_GiveUp": _GiveUp, "_email": EMAIL.match}
    namespace["__builtins__"] = {"str": str, "len": len, "int": int}
    emitted: set[int] = set()
    for plan in plans:
        for attr in plan.attributes:
            if attr.key not in emitted:
                emitted.add(attr.key)
                lines.extend("    " + line for line in _value_code(attr, namespace))
    accounts = [
        "{" + ", ".join(f"{a.name!r}: v{a.key}" for a in plan.attributes) + "}" for plan in plans
    ]
    lines.append(f"    return ({''.join(a + ', ' for a in accounts)})")
    exec("\n".join(lines), namespace)  # see the module docstring: literals only
    made: Program = namespace["program"]
    return made


def _value_code(attr: Attribute, namespace: dict[str, Any]) -> list[str]:
    """Lines that set ``v<key>`` to the attribute's checked value, or raise."""
    v, key, spec, template = f"v{attr.key}", attr.key, attr.spec, attr.template
    expression = fast_expression(template) if is_template(template) else None
    if expression is None:  # jinja, or a value that is no template: as render_account does
        namespace[f"_render{key}"] = attr.render
        namespace[f"_coerce{key}"] = attr.coerce
        namespace["_is_empty"] = is_empty
        lines = [f"{v} = _render{key}(c)"]
        if attr.required:
            lines.append(f"if _is_empty({v}): raise _GiveUp")
        if attr.coerce is not None:
            lines.append(f"if not _is_empty({v}): {v} = _coerce{key}({v})")
        return lines
    # the value is text: empty is falsy, and the common types are checked here
    lines = [f"{v} = ({expression}).strip()"]
    if attr.required:
        lines.append(f"if not {v}: raise _GiveUp")
    if spec is None or attr.coerce is None:
        return lines
    namespace[f"_coerce{key}"] = attr.coerce
    if spec.multi_valued:
        lines.append(f"if {v}: {v} = _coerce{key}({v})")
    elif spec.type == "string":
        if spec.max_length is not None:
            lines.append(f"if len({v}) > {int(spec.max_length)}: raise _GiveUp")
    elif spec.type == "email":
        lines.append(f"if {v} and not _email({v}): raise _GiveUp")
        if spec.max_length is not None:
            lines.append(f"if len({v}) > {int(spec.max_length)}: raise _GiveUp")
    elif spec.type == "integer":
        lines.append(f"if {v}: {v} = int({v}) if {v}.isdecimal() else _coerce{key}({v})")
    else:
        lines.append(f"if {v}: {v} = _coerce{key}({v})")
    return lines


# --------------------------------------------------------------------------- one by one


def render_account(
    config: Config,
    plan: SourcePlan,
    iid: str,
    sid: str,
    context: Mapping[str, Any],
    seen: dict[int, Any],
    problems: list[Diagnostic],
    kind: str = DEFAULT_KIND,
) -> dict[str, Any]:
    """One account's attributes, each problem added to ``problems``. ``seen``: the
    identity's values rendered for other sources, by ``Attribute.key`` (a value that
    failed is not kept: each source reports its own problem)."""
    out: dict[str, Any] = {}
    for attr in plan.attributes:
        value = seen.get(attr.key, _UNSEEN)
        if value is _UNSEEN:
            try:
                value = attr.render(context)
                if attr.required and is_empty(value):
                    raise _Empty("is empty")
                if attr.coerce is not None and not is_empty(value):
                    value = attr.coerce(value)
            except (TemplateProblem, ValueProblem) as problem:
                problems.append(_render_problem(config, iid, sid, attr.name, problem, kind))
                continue
            seen[attr.key] = value
        out[attr.name] = value
    return out


_UNSEEN = object()


class _Empty(ValueProblem):
    """A required attribute rendered empty (reported as missing, not as a wrong type)."""


def _template_origin(config: Config, sid: str, kind: str, attr: str) -> Location:
    """Where the template of ``attr`` of an account of ``kind`` is written: under the
    kind when the kind gives its own, else the source's."""
    source = config.sources[sid]
    spec = source.account.kinds.get(kind)
    for part in ("sync", "create"):
        if spec is not None and attr in getattr(spec, part):
            return config.origin("sources", sid, "account", "kinds", kind, part, attr)
    part = "sync" if attr in source.account.sync else "create"
    return config.origin("sources", sid, "account", part, attr)


def _render_problem(
    config: Config, iid: str, sid: str, attr: str, problem: Exception, kind: str = DEFAULT_KIND
) -> Diagnostic:
    """Where and why an account attribute could not be rendered (built only on failure)."""
    source = config.sources[sid]
    template_at = _template_origin(config, sid, kind, attr)
    where = config.origin("identities", iid)
    spec = source.account.schema_.get(attr)
    if isinstance(problem, TemplateRefused):
        return _refused(source, sid, attr, problem, template_at, kind)
    if isinstance(problem, TemplateProblem):
        return Diagnostic(
            "undefined-variable",
            f"identity '{iid}' {problem}, which account attribute '{attr}' on source '{sid}' needs",
            where,
            hint="add the attribute to the identity, or change the template",
            related=(template_at,),
        )
    if isinstance(problem, _Empty):
        return Diagnostic(
            "missing-required",
            f"identity '{iid}': required attribute '{attr}' on source '{sid}' is empty",
            where,
            hint="give the identity the attribute the template reads",
            related=(template_at,),
        )
    kind = spec.type if spec else "string"
    return Diagnostic(
        "wrong-type",
        f"identity '{iid}': attribute '{attr}' on source '{sid}' {problem}",
        where,
        hint=f"source '{sid}' declares '{attr}' as {kind}; "
        "fix the identity's value or the template",
        related=(template_at,),
    )


# --------------------------------------------------------------------------- refused templates


REFUSED = frozenset({"template-sandbox", "template-limit", "template-value"})
"""Codes of the diagnostics of templates the sandbox refused (``Refusals``)."""


def _refused(
    source: Source,
    sid: str,
    attr: str,
    problem: TemplateRefused,
    template_at: Location,
    kind: str = DEFAULT_KIND,
) -> Diagnostic:
    """A refused template, at the template, saying nothing of the identity (``Refusals``
    adds which)."""
    shown = " ".join(str(source.kind_attributes(kind).get(attr, "")).split())
    if len(shown) > 80:
        shown = shown[:77] + "..."
    what = f"template '{shown}' of account attribute '{attr}' on source '{sid}'"
    if problem.kind == "sandbox":
        return Diagnostic(
            "template-sandbox",
            f"{what} breaks the sandbox: {problem.reason}",
            template_at,
            hint="templates read identity attributes and use filters; names starting "
            "with '_' and Python's internals are out of their reach",
        )
    if problem.kind == "value":
        return Diagnostic(
            "template-value",
            f"{what} was refused: it {problem.reason}"
            if problem.reason.startswith("renders")
            else f"{what} was refused: {problem.reason}",
            template_at,
            hint=VALUE_HINT,
        )
    return Diagnostic(
        "template-limit",
        f"{what} was refused: it {problem.reason}",
        template_at,
        hint="account attributes are short values: keep repetitions, ranges, powers "
        "and loops small",
    )


class Refusals:
    """Templates the sandbox refused, each reported once however many identities it was
    rendered for: a template shared by 100,000 identities that breaks the sandbox is
    one problem, at the template, not 100,000 at the identities."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, Location | None], tuple[Diagnostic, str, int]] = {}

    def take(self, iid: str, problems: list[Diagnostic], start: int) -> bool:
        """Move the refusals among ``problems[start:]`` (those of identity ``iid``) here;
        True when there was one."""
        kept: list[Diagnostic] = []
        for problem in problems[start:]:
            if problem.code not in REFUSED:
                kept.append(problem)
                continue
            key = (problem.code, problem.location)
            first, first_identity, count = self._found.get(key, (problem, iid, 0))
            self._found[key] = (first, first_identity, count + 1)
        if len(kept) == len(problems) - start:
            return False
        problems[start:] = kept
        return True

    def diagnostics(self, config: Config) -> list[Diagnostic]:
        """One diagnostic per refused template, naming the first identity it failed for
        and how many others."""
        out = []
        for problem, iid, count in self._found.values():
            others = count - 1
            whom = f"identity '{iid}'" + (
                f" and {others:,} other identit{'y' if others == 1 else 'ies'}" if others else ""
            )
            out.append(
                replace(
                    problem,
                    message=f"{problem.message} (rendering for {whom})",
                    related=(*problem.related, config.origin("identities", iid)),
                )
            )
        return out
