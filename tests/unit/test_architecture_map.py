"""ARCHITECTURE.md is the newcomer's map: every module it names must exist, and every
``module.py``: ``Name`` it points to must be defined in that module.

Why a test: modules are split and renamed as the code grows; a map that points to a
file or a function that moved sends the next maintainer to the wrong room, and nobody
notices until they are lost. The map's promise is "one hop": this holds it to that.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "ARCHITECTURE.md"
PACKAGE = ROOT / "accesshive"

# `some/module.py` (a path inside accesshive/, or one from the repository's root)
_MODULE = re.compile(r"`((?:[\w.-]+/)*[\w-]+\.py)`")
# `some/module.py`: `Name` or `Class.method`, the map's "where" form
_POINTER = re.compile(r"`((?:[\w.-]+/)*[\w-]+\.py)`: `([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)?)`")


# a package named before its modules, in a table row: `config/`: `loader.py`, ...
_TOKEN = re.compile(r"`((?:[\w.-]+/)*[\w-]+(?:\.py|/))`")


def _resolve(name: str, package: Path | None = None) -> Path | None:
    """The module a map entry names: a path inside accesshive/, from the root, or in the
    package the row named before it."""
    for base in (PACKAGE, ROOT, *([package] if package else [])):
        path = base / name
        if path.is_file():
            return path
    return None


def _modules(line: str) -> list[tuple[str, Path | None]]:
    """Each module a line names, with the file it resolves to (None: not found)."""
    package: Path | None = None
    out: list[tuple[str, Path | None]] = []
    for token in _TOKEN.findall(line):
        if token.endswith("/"):
            for base in (PACKAGE, *([package] if package else [])):
                if (base / token).is_dir():
                    package = base / token
                    break
        else:
            out.append((token, _resolve(token, package)))
    return out


def _somewhere(name: str) -> bool:
    """A bare name in a section about one package (``loader.py`` under config/): it
    must still be a module of the repository."""
    return (
        _resolve(name) is not None
        or any(ROOT.glob(f"accesshive/**/{name}"))
        or any(ROOT.glob(f"tests/**/{name}"))
    )


@cache
def _defined(path: Path) -> frozenset[str]:
    """Top-level names a module defines (functions, classes, assignments, imports) and
    ``Class.member`` for what its classes define."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}.{member.name}")
                elif isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
                    names.add(f"{node.name}.{member.target.id}")
                elif isinstance(member, ast.Assign):
                    names.update(
                        f"{node.name}.{t.id}" for t in member.targets if isinstance(t, ast.Name)
                    )
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)


def _lines(section: str | None = None) -> list[tuple[int, str]]:
    """Numbered lines of the map, or of one ``## section`` of it."""
    lines = list(enumerate(MAP.read_text(encoding="utf-8").splitlines(), start=1))
    if section is None:
        return lines
    start = next(i for i, (_, line) in enumerate(lines) if line == section)
    end = next(
        (i for i, (_, line) in enumerate(lines) if i > start and line.startswith("## ")),
        len(lines),
    )
    return lines[start:end]


def test_every_module_the_map_names_exists() -> None:
    missing = [
        f"ARCHITECTURE.md:{number}: `{name}`"
        for number, line in _lines()
        for name in _MODULE.findall(line)
        if not _somewhere(name)
    ]
    assert not missing, "modules named in the map that do not exist:\n" + "\n".join(missing)


@pytest.mark.parametrize("section", ["## The stage table", "## Where things happen"])
def test_one_hop_sections_give_whole_paths(section: str) -> None:
    """In the stage table and "where things happen", each module is named by its path
    inside accesshive/, so that it is found without searching."""
    vague = [
        f"ARCHITECTURE.md:{number}: `{name}`"
        for number, line in _lines(section)
        for name, path in _modules(line)
        if path is None
    ]
    assert not vague, f"{section}: modules not found at the path given:\n" + "\n".join(vague)


def test_every_pointer_names_what_its_module_defines() -> None:
    wrong = []
    for number, line in _lines():
        found = dict(_modules(line))
        for module, name in _POINTER.findall(line):
            path = found.get(module)
            if path is None:
                continue  # reported by the test above
            if name not in _defined(path):
                wrong.append(f"ARCHITECTURE.md:{number}: `{module}`: `{name}` is not defined there")
    assert not wrong, "map entries that point to the wrong module:\n" + "\n".join(wrong)


def test_the_check_finds_a_pointer_that_moved(tmp_path: Path) -> None:
    """The checker itself: a pointer to a name its module does not define is caught."""
    module = tmp_path / "m.py"
    module.write_text("class Walk:\n    def run(self): ...\n\ndef plan(): ...\n")
    assert {"Walk", "Walk.run", "plan"} <= _defined(module)
    assert "Walk.gone" not in _defined(module)
    assert _POINTER.findall("run by `apply/x.py`: `Walk.run` → `y`") == [("apply/x.py", "Walk.run")]


# `Class.member` or `_private_name` written without its module ("held by
# `Executor._walk`"): named in passing, it must still exist somewhere in the package
_PASSING = re.compile(r"`((?:[A-Z]\w*\.[A-Za-z_]\w*)|(?:_[a-z]\w*))`")


@cache
def _everything() -> frozenset[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        names |= _defined(path) | {path.stem}
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):  # nested functions and methods of nested classes too
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
    return frozenset(names)


def test_names_given_in_passing_exist() -> None:
    """``Class.member`` and ``_private`` names the map gives without their module must be
    defined somewhere in accesshive/ (a renamed method leaves no stale pointer)."""
    missing = [
        f"ARCHITECTURE.md:{number}: `{name}`"
        for number, line in _lines()
        for name in _PASSING.findall(line)
        if name not in _everything() and name.split(".")[-1] not in _everything()
    ]
    assert not missing, "names in the map defined nowhere in accesshive/:\n" + "\n".join(missing)
