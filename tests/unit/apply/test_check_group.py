"""A managed-group order is verified against the group read back from the target by its
key: what ``check_group`` says is what the run records (verified, or errored with the
difference), so a target that answered a create or a rename without doing it is caught."""

from __future__ import annotations

from typing import Any

from accesshive.apply.groups import check_group
from accesshive.plan.orders import Change, Order
from accesshive.state.snapshot import SnapshotGroup


def _order(action: str, attributes: dict[str, Any]) -> Order:
    change = Change(
        action=action, source="wiki", identity=None, entitlement="oncall", attributes=attributes
    )
    return Order(id="g1", kind=action, change=change)


def _group(group_name: str, **attributes: Any) -> SnapshotGroup:
    return SnapshotGroup(
        external_id="42", name=group_name, entitlement="oncall", members=0, attributes=attributes
    )


def test_a_created_group_is_verified_by_its_name_and_attributes() -> None:
    order = _order("create_group", {"name": "On call", "description": "pager"})
    assert check_group(order, _group("On call", description="pager")) is None
    # an attribute the target does not show is not held against it (not every target
    # returns every attribute)
    assert check_group(order, _group("On call")) is None


def test_a_group_the_target_holds_differently_names_each_difference() -> None:
    order = _order("create_group", {"name": "On call", "description": "pager"})
    found = check_group(order, _group("Oncall", description="phone"))
    assert found == (
        "description: expected 'pager', target has 'phone'; "
        "name: expected 'On call', target has 'Oncall'"
    )


def test_an_update_is_verified_against_what_it_changes_to() -> None:
    order = _order("update_group", {"name": {"from": "Oncall", "to": "On call"}})
    assert check_group(order, _group("On call")) is None
    assert check_group(order, _group("Oncall")) == "name: expected 'On call', target has 'Oncall'"
    # the name is the group's own, never an attribute of the same name
    assert check_group(order, _group("Oncall", name="On call")) is not None
    # an attribute is compared with the attribute of that name
    retitle = _order("update_group", {"description": {"from": "pager", "to": "phone"}})
    assert check_group(retitle, _group("On call", description="phone")) is None
    assert check_group(retitle, _group("On call", description="pager")) is not None


def test_a_missing_group_fails_a_create_and_passes_a_delete() -> None:
    assert check_group(_order("create_group", {"name": "On call"}), None) == (
        "no group carrying the key oncall on the target"
    )
    delete = _order("delete_group", {})
    assert check_group(delete, None) is None
    assert check_group(delete, _group("On call")) == "group oncall (On call) still exists"
