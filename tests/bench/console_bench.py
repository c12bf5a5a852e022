"""The console's identity detail page on a generated organisation: how long a page takes
when something changed (the first after a commit, sync or apply step: the whole plan is
made) and when nothing did (the overview is kept, ``console/cache.py``).

    python -m tests.bench.console_bench [--identities 10000] [--workdir DIR]

The organisation comes from ``tests.bench.generate`` (reused when ``DIR`` holds it); its
snapshot is stored as a sync would store it, in the repository's SQLite store. Times are
wall and CPU seconds of in-process requests (Starlette's test client), printed as JSON;
on a shared machine the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from tests.bench.generate import TODAY, generate, snapshot_path


def _store(repo: Path) -> None:
    from accesshive.operations import StoreRef
    from accesshive.state.snapshot import load_snapshot

    store = StoreRef()
    if store.exists(repo):
        return
    snap = load_snapshot(snapshot_path(repo))
    with store.open(repo) as opened:
        for sid, source in sorted(snap.sources.items()):
            opened.save_snapshot(sid, source)
        opened.audit("bench", "sync", None, {"sources": sorted(snap.sources)})


def _timed(client: Any, path: str) -> dict[str, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code)
    return {
        "wall": round(time.perf_counter() - wall, 3),
        "cpu": round(time.process_time() - cpu, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.console_bench")
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args(argv)
    repo = args.workdir / f"console-org-{args.identities}"
    if not (repo / "accesshive.yaml").exists():
        generate(repo, args.identities, check=False)
    _store(repo)

    from accesshive.console.app import Console, make_app
    from accesshive.operations import StoreRef

    with warnings.catch_warnings():  # starlette would rather have httpx2
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    app = make_app(Console(repo, StoreRef(), TODAY))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        listing = client.get("/").text
        found = re.search(r'data-identity="([^"]+)"', listing)
        assert found, "no identity listed"
        page = f"/identities/{found.group(1)}"
        app.state.overviews = type(app.state.overviews)()  # forget: the next page is cold
        result = {
            "identities": args.identities,
            "page": page,
            "after_a_change": _timed(client, page),
            "unchanged": [_timed(client, page) for _ in range(3)],
        }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
