"""Paths accesshive writes (or reads) inside the repository, checked for symbolic links
that lead out of it.

Why: a pull request is reviewed as text, and a link does not show where it points. A
pull request that adds ``approvals/<digest>.yaml`` or ``.accesshive/runs/1/tasks.md`` as
a link to a file of whoever runs accesshive on it (``~/.ssh/authorized_keys``) would
have that file overwritten. The configuration loader refuses such links for what it
reads (``config.links``); this is the same rule for the files commands write.
"""

from __future__ import annotations

from pathlib import Path


def link_out_of(root: Path, path: Path) -> tuple[Path, Path] | None:
    """(the link, where it leads) when ``path`` under ``root`` resolves outside ``root``
    because of a symbolic link on the way; None when it stays inside (existing or not)."""
    inside = root.resolve()
    real = path.resolve()
    if real == inside or inside in real.parents:
        return None
    here = root
    for part in path.relative_to(root).parts:
        here = here / part
        if here.is_symlink():
            return here, real
    return path, real  # not through a link of ours: ``path`` itself was given outside


def outside_the_repository(root: Path, raw: str) -> str | None:
    """How the file ``raw`` (as a configuration names it, relative to ``root``) leaves the
    repository: "LINK leads to REAL" or "RAW is outside it"; None when it stays inside.
    ``validate`` and the manual connector both refuse such an export with it."""
    path = Path(raw)
    if not path.is_absolute():
        outside = link_out_of(root, root / path)
    else:  # inside when under the repository as it is named or as it really is
        bases = [b for b in (root, root.resolve()) if b == path or b in path.parents]
        outside = link_out_of(bases[0], path) if bases else (path, path)
    if outside is None:
        return None
    link, real = outside
    return f"{link} leads to {real}" if link.is_symlink() else f"{raw} is outside it"
