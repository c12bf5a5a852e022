"""Where the shipped default policies are: in a module of its own, so that what only
needs the place (the plan cache's key, ``cache/plans.py``) does not import the loader."""

from __future__ import annotations

from pathlib import Path


def default_policy_dir() -> Path:
    """The shipped default policies: inside the wheel, or the checkout's ``policies/``."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_default_policies"
    return packaged if packaged.is_dir() else here.parent / "policies"
