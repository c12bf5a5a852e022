"""The stages as commands run them: each pure stage composed with its cache.

The stages (``config/``, ``expand/``, ``plan/``, ``state/``) compute from their inputs
alone and never touch the cache directory; the caches (``cache/``) each wrap one
stage function and give exactly what it would compute, faster on a warm run. This
module and the operations that plan (``operations/_common.py``: ``load_and_expand``,
``operations/planning.py``: ``plan_repository``) are where the two are put together,
so that a stage can be read, tested and benchmarked without its cache, and a cache
judged against its contract (``cache/contract.py``) without reading the stage.

- ``config/loader.py``: ``load_config`` with ``cache/parse.py``: ``parse_bytes`` and
  ``cache/check.py``: ``validate`` (``load_config`` below; ``config_digest``, with the
  parse cache);
- ``state/snapshot.py``: ``parse_snapshot`` and ``Snapshot.fingerprints`` with
  ``cache/snapshot.py`` (the validated snapshot; ``cache/parse.py`` for a YAML one)
  and ``cache/fingerprints.py`` (``snapshot_file`` below);
- ``expand/desired.py``: ``expand`` with ``cache/render.py``: ``expand`` (in
  ``load_and_expand``);
- ``plan/diff.py``: ``diff`` with ``cache/diff.py``: ``diff`` (in ``plan_repository``).
"""

from __future__ import annotations

from pathlib import Path

from accesshive.cache import check, fingerprints, parse
from accesshive.cache import snapshot as snapshot_cache
from accesshive.config import loader
from accesshive.config.config import Config
from accesshive.state.snapshot import Snapshot


def load_config(root: str | Path, environment: str | None = None) -> Config:
    """``config/loader.py``: ``load_config``, parsing through the parse cache and checking
    through the check cache."""
    return loader.load_config(root, environment, parse=parse.parse_bytes, check=check.validate)


def config_digest(root: str | Path) -> str | None:
    """``config/loader.py``: ``config_digest``, parsing through the parse cache."""
    return loader.config_digest(root, parse=parse.parse_bytes)


def snapshot_file(path: Path) -> tuple[Snapshot, dict[str, str]]:
    """The snapshot in a file (``plan --snapshot``) and its fingerprints, through the
    snapshot cache (the parse cache, for a YAML file) and the fingerprints cache."""
    snapshot, content = snapshot_cache.read(path)
    return snapshot, fingerprints.fingerprints(snapshot, content)
