"""The package's public surface stays small and sorted."""

import importlib

import pytest

import accesshive


def test_all_is_sorted_and_importable() -> None:
    assert accesshive.__all__ == sorted(accesshive.__all__)
    for name in accesshive.__all__:
        assert hasattr(accesshive, name)


@pytest.mark.parametrize(
    "module",
    [
        "accesshive.cli",
        "accesshive.connectors.google_workspace",
        "accesshive.connectors.ldap",
        "accesshive.connectors.scim",
        "accesshive.operations",
        "accesshive.store",
        "accesshive.store.base",
    ],
)
def test_split_packages_re_export_a_sorted_all(module: str) -> None:
    """Packages split into private modules keep their import paths through ``__all__``."""
    mod = importlib.import_module(module)
    assert mod.__all__ == sorted(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name)
