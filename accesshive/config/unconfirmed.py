"""References that cannot be checked while a config file does not parse.

Why a module of its own: a syntax error in ``access.yaml`` hides every role it declares,
and each identity naming one of them would otherwise be "role 'ops-admin' is not
declared": a second, wrong error, and many of them. Which of the missing names the file
declares cannot be known until it parses, so none is reported; one warning,
``not-checked``, says which references could not be checked, which file did not parse,
and where each reference is (a ``see:`` line each, labelled with what it names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from accesshive.diagnostics import Diagnostic, Location, Severity, sort_key

UNCONFIRMED = frozenset({"unknown-reference", "missing-source"})
"""The codes of problems that say something is not declared: with a file that could not be
read, it may be declared there."""


def _as_is(location: Location) -> Location:
    return location


def unconfirmed(
    checked: list[Diagnostic],
    unread: dict[str, str],
    place: Callable[[Location], Location] = _as_is,
) -> list[Diagnostic]:
    """``checked`` without what a file that could not be read (``unread``: file → why) may
    declare, and in its place one warning, on the first such file.

    ``place``: where a location is in the repository (the loader's, which gives it its
    line and column and its repository's directory). The references are placed first, so
    that their ``see:`` lines come in file, line and column order, each labelled with what
    it names; a file that did not parse is named as the warning's own place is shown, as
    a path that opens from the current directory."""
    if not unread:
        return checked
    kept = [d for d in checked if d.code not in UNCONFIRMED]
    unsure = sorted((_placed(d, place) for d in checked if d.code in UNCONFIRMED), key=sort_key)
    if unsure:
        left = len(unsure)
        first = place(Location(min(unread)))
        why = ", ".join(
            f"{place(Location(name)).shown_file()} {reason}"
            for name, reason in sorted(unread.items())
        )
        names = "; ".join(dict.fromkeys(_reference(d) for d in unsure))
        kept.append(
            Diagnostic(
                "not-checked",
                f"cannot check {left} reference{'s' if left != 1 else ''} ({names}): {why}, "
                f"and what {'it names' if left == 1 else 'they name'} may be declared there",
                first,
                hint="fix the error in that file; its references are checked once it is read",
                severity=Severity.WARNING,
                related=tuple(
                    replace(d.location, label=_reference(d))
                    for d in unsure
                    if d.location is not None
                ),
            )
        )
    return kept


def _placed(d: Diagnostic, place: Callable[[Location], Location]) -> Diagnostic:
    return d if d.location is None else replace(d, location=place(d.location))


def _reference(d: Diagnostic) -> str:
    """What a problem that may not be one refers to, without claiming it is missing:
    ``role 'ops-admin'`` of "role 'ops-admin' is not declared"."""
    for claim in (" is not declared", ", which ", " needs ", " requires "):
        if claim in d.message:
            return d.message.split(claim, 1)[0]
    return d.message
