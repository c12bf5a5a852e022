"""The package's public surface stays small and sorted."""

import accesshive


def test_all_is_sorted_and_importable() -> None:
    assert accesshive.__all__ == sorted(accesshive.__all__)
    for name in accesshive.__all__:
        assert hasattr(accesshive, name)
