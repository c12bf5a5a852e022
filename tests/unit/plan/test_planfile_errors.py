"""A plan file whose content has the wrong shape is refused in words: which field, what
it holds, what was expected (never a Python exception such as ``TypeError(...)``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from accesshive.cli import main
from accesshive.errors import PlanFileError
from accesshive.plan.planfile import read_plan

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


@pytest.mark.parametrize("name", ["quickstart-empty.json", "acme-empty.json"])
def test_plan_files_as_written_are_read(name: str) -> None:
    plan = read_plan(GOLDEN / name)
    assert plan.orders


def _broken(tmp_path: Path, change: Any) -> Path:
    data = json.loads((GOLDEN / "quickstart-empty.json").read_text())
    change(data)
    path = tmp_path / "e7.json"
    path.write_text(json.dumps(data))
    return path


def _message(path: Path) -> str:
    with pytest.raises(PlanFileError) as caught:
        read_plan(path)
    return str(caught.value)


def test_orders_null_names_the_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d.update(orders=None))
    assert _message(path) == f"{path} is malformed: 'orders' is null, expected a list; plan again"


def test_an_unknown_order_kind_names_the_order_and_what_was_expected(tmp_path: Path) -> None:
    def frob(data: dict[str, Any]) -> None:
        data["orders"][2]["kind"] = "frobnicate"

    path = _broken(tmp_path, frob)
    message = _message(path)
    order = json.loads(path.read_text())["orders"][2]
    assert f"'orders[2].kind' (order {order['id']}) is 'frobnicate'" in message
    assert f"expected its action '{order['action']}' or 'manual_task'" in message
    assert "Error(" not in message


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda d: d["orders"][0].pop("source"), "'orders[0].source' is missing"),
        (
            lambda d: d["orders"][1].update(sensitive="yes"),
            "'orders[1].sensitive' is a string, expected true or false",
        ),
        (lambda d: d["options"].update(allow_mass_changes=None), "'options.allow_mass_changes'"),
        (lambda d: d.update(orphans=[{"who": 1}]), "'orphans[0]' has unknown field(s) who"),
        (lambda d: d.update(warnings=[3]), "'warnings[0]' is a number, expected a string"),
        (lambda d: d["orders"].__setitem__(0, None), "'orders[0]' is null, expected an object"),
    ],
)
def test_each_wrong_shape_is_said_in_words(tmp_path: Path, change: Any, said: str) -> None:
    message = _message(_broken(tmp_path, change))
    assert said in message
    assert "Error(" not in message


def test_show_prints_it_on_one_line(tmp_path: Path) -> None:
    path = _broken(tmp_path, lambda d: d.update(orders=None))
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code != 0
    (line,) = result.output.strip().splitlines()
    # and the command that makes it again (with -C when a repository of it is found)
    assert line.startswith(
        f"Error: {path} is malformed: 'orders' is null, expected a list; plan again: "
        f"`accesshive plan --out {path}"
    ), line
