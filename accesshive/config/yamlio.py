"""Reading YAML safely and fast, and finding line:column only when it is needed.

Why four loaders: every file is read with yaml-rs where it reads exactly as ruamel.yaml
(``yamlfast``: YAML 1.2 core, ``yes`` and ``on`` stay strings), else with libyaml
through PyYAML, made to read YAML 1.2 as ruamel.yaml does (``yaml12``); what neither
reads exactly so (a repeated key, a merge key, an explicit tag, any error) is read with
ruamel.yaml's C-backed safe loader, which says where the problem is. ruamel.yaml's
round-trip loader keeps positions but costs ~1 GB on a large org: a file is re-read
with it only to place a diagnostic (see ``Locator``).

Hostile input is refused before the C parser sees it: files over the size
limit, bytes that are not UTF-8, documents nested deeper than the C composer can
recurse safely, and alias bombs ("billion laughs") whose expansion outgrows the
file itself.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from accesshive.config import yaml12, yamlfast
from accesshive.config.meaning import meaning_digest
from accesshive.config.yaml_dates import impossible_date
from accesshive.diagnostics import Diagnostic, Location, YamlPath

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_NESTING = 64
# An alias-free document has at most about one value per byte; allow slack for
# legitimate anchors (shared defaults) but not exponential expansion.
EXPANSION_SLACK = 100_000

_BLOCK_PREFIX = re.compile(r"[ \t]*(?:[-?:][ \t]+)*")
_BRACKETS = re.compile(r"[\[\]{}]")


@dataclass(frozen=True)
class ParsedFile:
    """One YAML file: its display name, content digest and data (plain dicts/lists)."""

    name: str
    digest: str
    """SHA-256 of the bytes: what the parse cache (``cache/parse.py``) is keyed on."""
    data: Any
    meaning: str = ""
    """SHA-256 of the data in canonical form (``meaning_digest``): what a plan is bound
    to, so that comments, key order, quoting and layout do not invalidate a saved plan."""


class YamlProblem(Exception):
    """A file could not be parsed; ``diagnostic`` says where and why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _fast_loader() -> YAML:
    try:
        return YAML(typ="safe", pure=False)
    except Exception:  # pragma: no cover - only without ruamel.yaml.clib
        return YAML(typ="safe", pure=True)


_LOADER = _fast_loader()


Parse = Callable[[bytes, str], "ParsedFile"]
"""A file's bytes and display name → its parse: ``parse_bytes``, or the parse cache's
(``cache/parse.py``), which the pipeline passes in."""


def parse_file(
    path: Path, name: str, max_bytes: int | None = None, parse: Parse | None = None
) -> ParsedFile:
    """Parse one YAML file into plain Python data, or raise ``YamlProblem``.
    ``parse``: what turns its bytes into data (default ``parse_bytes``)."""
    max_bytes = max_bytes or MAX_FILE_BYTES
    size = path.stat().st_size
    if size > max_bytes:
        raise YamlProblem(
            Diagnostic(
                "file-too-large",
                f"file is {size:,} bytes; the limit is {max_bytes:,}",
                Location(name),
                hint="split it into several files (identities/*.yaml are all read)",
            )
        )
    raw = path.read_bytes()
    return (parse or parse_bytes)(raw, name)


def parse_bytes(raw: bytes, name: str) -> ParsedFile:
    """The data of these bytes, after the hostile-input checks, or ``YamlProblem``."""
    digest = hashlib.sha256(raw).hexdigest()
    text = _decode(raw, name)
    _check_nesting(text, name)
    try:
        data = yamlfast.load(text)
    except yamlfast.Unsure:
        try:
            data = yaml12.load(text)
        except yaml12.Fallback:
            data = _ruamel_load(text, name)
    _check_expansion(data, len(raw), name)
    return ParsedFile(name=name, digest=digest, data=data, meaning=meaning_digest(data))


def _ruamel_load(text: str, name: str) -> Any:
    """ruamel.yaml's reading of what the fast loader leaves to it (``yaml12.Fallback``):
    a repeated key, a merge key, an explicit tag, a directive, and every error, which it
    places at line:column."""
    try:
        return _LOADER.load(text)
    except DuplicateKeyError as exc:
        raise YamlProblem(_marked(exc, name, "duplicate-key", _duplicate_message(exc))) from exc
    except MarkedYAMLError as exc:
        raise YamlProblem(_marked(exc, name, "yaml-syntax", _syntax_message(exc), text)) from exc
    except YAMLError as exc:
        raise YamlProblem(Diagnostic("yaml-syntax", str(exc), Location(name))) from exc
    except ValueError as exc:  # an impossible date, or int() past its digit limit
        digits = "integer string conversion" in str(exc)
        bad_date = None if digits else impossible_date(text, name)
        raise YamlProblem(bad_date or _huge_number(text, name)) from exc


def _decode(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlProblem(
            Diagnostic(
                "not-utf8",
                f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
                Location(name, (), line, column),
                hint="save the file as UTF-8",
            )
        ) from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise YamlProblem(
            Diagnostic("not-utf8", "file contains a NUL byte", Location(name, (), line, 1))
        )
    return text


def _check_nesting(text: str, name: str) -> None:
    """Refuse documents nested deeper than MAX_NESTING, before the recursive composer runs.

    The estimate is an upper bound: indentation columns plus open flow brackets.
    """
    if _shallow(text):
        return
    flow = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        block = _BLOCK_PREFIX.match(line)
        depth = (block.end() if block else 0) // 2
        if "[" in line or "{" in line or flow:
            for m in _BRACKETS.finditer(line):
                flow = flow + 1 if m.group() in "[{" else max(flow - 1, 0)
                if depth + flow > MAX_NESTING:
                    break
        if depth + flow > MAX_NESTING:
            raise YamlProblem(
                Diagnostic(
                    "too-deep",
                    f"document is nested more than {MAX_NESTING} levels deep",
                    Location(name, (), lineno, 1),
                    hint="flatten the structure; accesshive config is never this deep",
                )
            )


_DEEP_PREFIX = re.compile(rf"[ \t?:-]{{{2 * MAX_NESTING + 2}}}")
"""A block prefix (``_BLOCK_PREFIX``: only these characters) that may be long enough to
be nested deeper than MAX_NESTING; searched for after each line break (``\\n`` first: the
regex engine finds a literal fast)."""
_DEEP_LINE = re.compile("\n" + _DEEP_PREFIX.pattern)
_ANY_BRACKET = re.compile(r"[\[\]{}]")


def _shallow(text: str) -> bool:
    """Whether ``_check_nesting``'s walk over every line would find nothing: no line's
    block prefix is long enough, and every line with a bracket, walked as it walks it,
    stays within the limit and closes what it opens. Most files are shown so by a few
    scans of the text, without a Python step per line."""
    if _DEEP_PREFIX.match(text) or _DEEP_LINE.search(text):
        return False
    done = 0  # the end of the last line walked
    for bracket in _ANY_BRACKET.finditer(text):
        at = bracket.start()
        if at < done:
            continue  # on a line walked already
        start = text.rfind("\n", 0, at) + 1
        done = text.find("\n", at)
        if done < 0:
            done = len(text)
        line = text[start:done]
        block = _BLOCK_PREFIX.match(line)
        depth = (block.end() if block else 0) // 2
        flow = 0
        for m in _BRACKETS.finditer(line):
            flow = flow + 1 if m.group() in "[{" else max(flow - 1, 0)
            if depth + flow > MAX_NESTING:
                return False
        if flow:  # a flow collection goes on over the next lines: walk them all
            return False
    return True


def _check_expansion(data: Any, size: int, name: str) -> None:
    budget = size + EXPANSION_SLACK
    stack = [data]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > budget:
            raise YamlProblem(
                Diagnostic(
                    "alias-bomb",
                    f"aliases expand this {size:,}-byte file to more than {budget:,} values",
                    Location(name),
                    hint="remove the nested anchors/aliases (&x / *x) that multiply each other",
                )
            )
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


_LONG_NUMBER = re.compile(r"[0-9][0-9_]*")


def _huge_number(text: str, name: str) -> Diagnostic:
    """Where the constructor's ``ValueError`` comes from: Python reads integers of at most
    ``sys.get_int_max_str_digits()`` digits (a guard against quadratic-time conversion),
    and the YAML loader lets that escape without a position; the longest run of digits in
    the file is the culprit."""
    limit = sys.get_int_max_str_digits()
    longest = max(_LONG_NUMBER.finditer(text), key=lambda m: len(m.group()), default=None)
    if longest is None:  # pragma: no cover - only a digit run can make int() refuse
        return Diagnostic("yaml-syntax", "a value cannot be read", Location(name))
    line = text.count("\n", 0, longest.start()) + 1
    column = longest.start() - (text.rfind("\n", 0, longest.start()) + 1) + 1
    return Diagnostic(
        "number-too-large",
        f"a number of {len(longest.group().replace('_', ''))} digits; the limit is {limit}",
        Location(name, (), line, column),
        hint="quote it if it is text (no system holds an integer this large)",
    )


def _marked(exc: MarkedYAMLError, name: str, code: str, message: str, text: str = "") -> Diagnostic:
    """The problem at its position; where the parser found the problem is seldom where the
    mistake is (an unclosed ``[`` is noticed on a later line), so the position of what it
    was reading (``context_mark``: the first key, the opening bracket) is given too, in the
    message and as a related place the user can open."""
    mark = exc.problem_mark or exc.context_mark
    loc = Location(name, (), mark.line + 1, mark.column + 1) if mark else Location(name)
    started = _started(exc)
    related = (Location(name, (), started[0], started[1]),) if started else ()
    if code == "duplicate-key":
        hint = "each key may appear once in a mapping; merge the two entries"
    elif "tab character" in message:
        hint = "YAML indents with spaces only: replace the tab at this position with spaces"
    elif (
        started
        and mark
        and "block mapping" in message
        and (misplaced := _misindented(text, mark.line, started[1]))
    ):
        hint = misplaced
    elif started:  # a '[' or quote left open there is noticed only here
        hint = (
            "fix the YAML syntax at this position, or in what started at line "
            f"{started[0]}, column {started[1]} (a bracket or quote left open?)"
        )
    else:
        hint = _likely_cause(message)
    return Diagnostic(code, message, loc, hint=hint, related=related)


_CAUSES = (
    (
        "mapping values are not allowed",
        "a key where none may start: check this line's indentation against the lines above "
        "(a key indented more or less than its siblings), or quote a value that holds ': '",
    ),
    (
        "cannot start any token",
        "a tab? YAML indents with spaces only; otherwise quote the value that starts here "
        "(a plain value cannot start with @ or `)",
    ),
)
"""The parser's words for the commonest slips, and what usually caused them: the
position it gives is where it noticed, often the line after the mistake."""


def _likely_cause(message: str) -> str:
    for words, cause in _CAUSES:
        if words in message:
            return cause
    return "fix the YAML syntax at this position"


def _misindented(text: str, line: int, column: int) -> str | None:
    """When a block mapping's next line starts left of its keys but right of its parent's,
    the parser says "did not find expected key" at that line: it is indented unlike its
    siblings (a space lost or added), which is what the user has to fix."""
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    row = lines[line]
    indent = _indent(row)
    if not row.strip() or indent == column - 1:
        return None
    above = next((_indent(r) for r in reversed(lines[:line]) if r.strip()), column - 1)
    spaces = f"{indent} space{'s' if indent != 1 else ''}"
    if above > indent > column - 1:
        return (
            f"this line is indented {spaces}: between the line above ({above}) and the keys "
            f"of the mapping it closes into ({column - 1}); indent it like the keys it "
            "belongs with"
        )
    return (
        f"this line is indented {spaces}, the keys of the mapping above it {column - 1}: "
        "indent it like its siblings"
    )


def _indent(row: str) -> int:
    return len(row) - len(row.lstrip(" "))


def _started(exc: MarkedYAMLError) -> tuple[int, int] | None:
    """(line, column) of what the parser was reading when it found the problem (the
    ``[`` left open, the mapping holding a repeated key), when that is another place."""
    context, problem = exc.context_mark, exc.problem_mark
    if context is None or problem is None:
        return None
    if (context.line, context.column) == (problem.line, problem.column):
        return None
    return context.line + 1, context.column + 1


def _syntax_message(exc: MarkedYAMLError) -> str:
    """ruamel.yaml's words, with the place where what it was reading started: "while
    parsing a flow sequence that started at line 4, column 15: did not find expected ','
    or ']'"."""
    problem = f"{exc.problem}" if exc.problem else "invalid YAML"
    if not exc.context:
        return problem
    started = _started(exc)
    where = f" that started at line {started[0]}, column {started[1]}" if started else ""
    return f"{exc.context}{where}: {problem}"


def _duplicate_message(exc: DuplicateKeyError) -> str:
    m = re.search(r'found duplicate key "([^"]*)"', str(exc))
    key = m.group(1) if m else "?"
    return f"duplicate key '{key}'"


class Locator:
    """Turns (file, key path) into line:column by re-reading the file with positions.

    Files are read lazily and only once each; only files that have a diagnostic
    to show are ever re-read.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._cache: dict[str, Any] = {}
        self.paths: dict[str, Path] = {}
        self._absolute = os.path.abspath(root)

    def place(self, location: Location) -> Location:
        """``resolve``, and the repository's directory recorded when the location is a file
        in it (so that it is shown as a path that opens from the user's directory)."""
        placed = self.resolve(location)
        if placed.root is None and os.path.lexists(os.path.join(self._absolute, placed.file)):
            placed = replace(placed, root=self._absolute)
        return placed

    def resolve(self, location: Location) -> Location:
        if location.line is not None:
            return location
        doc = self._document(location.file)
        if doc is None:
            return location
        pos = _walk_positions(doc, location.path)
        if pos is None:
            return location
        return replace(location, line=pos[0] + 1, column=pos[1] + 1)

    def _document(self, name: str) -> Any:
        if name not in self._cache:
            path = self.paths.get(name)
            if path is None:  # a file that did not parse is never re-read
                self._cache[name] = None
                return None
            try:
                rt = YAML(typ="rt")
                self._cache[name] = rt.load(path.read_text(encoding="utf-8"))
            except (OSError, YAMLError, RecursionError, UnicodeDecodeError):
                self._cache[name] = None
        return self._cache[name]


def _walk_positions(doc: Any, path: YamlPath) -> tuple[int, int] | None:
    """Position of the deepest key or item of ``path`` that exists in ``doc``."""
    node = doc
    pos: tuple[int, int] | None = (0, 0)
    for key in path:
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and key in node and lc is not None:
            pos = (lc.key(key)[0], lc.key(key)[1])
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node) and lc:
            pos = (lc.item(key)[0], lc.item(key)[1])
            node = node[key]
        else:
            break
    return pos
