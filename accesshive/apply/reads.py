"""Apply's reads of its sources, at once: the live read before a run (``stale.py``) and
the refresh after it (``operations/refresh.py``).

Why: apply read the sources a plan touches one after the other, twice (before the first
order, to prove the plan current; after the last, to store the truth), each read a few
round trips at the target's latency and its server's time to answer. With ``--workers``
that is a part of a run more workers do not shorten: with four SCIM sources at 20 ms
(the workers benchmark, 2,000 orders) 2.0 s before the first order and 2.9 s after the
last, of about 9 s that apply spent outside the walk. A target's round trips and its
server's work, not accesshive's CPU, are what a read waits for, so the reads run on
threads, as ``sync`` reads (``sync.READERS`` at once), each still whole or failing
alone (``read_source`` never returns a partial read; each read opens its own
connector). Where the targets' servers share a saturated machine with apply (that
benchmark on 2 cores), the reads wait for CPU, and reading at once gains little.

What each read gave is handed back in the order of ``keys``, so that what the caller
stores or refuses comes out in the same order as from reads one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from accesshive.sync import READERS

K = TypeVar("K")
T = TypeVar("T")


def at_once(
    keys: Sequence[K], read: Callable[[K], T], readers: int = READERS
) -> list[tuple[K, T | Exception]]:
    """``read`` each of ``keys``, ``readers`` at a time, each on a thread of its own (one
    key, or ``readers=1``, on the caller's thread): per key, in the order of ``keys``,
    what it gave or the exception it raised (the caller tells a target's failure from a
    bug). Every read runs to its end, whatever another's outcome."""

    def one(key: K) -> T | Exception:
        try:
            return read(key)
        except Exception as exc:  # handed to the caller, with its traceback
            return exc

    if readers <= 1 or len(keys) <= 1:
        return [(key, one(key)) for key in keys]
    with ThreadPoolExecutor(
        max_workers=min(readers, len(keys)), thread_name_prefix="accesshive-read"
    ) as pool:
        futures = [(key, pool.submit(one, key)) for key in keys]
        return [(key, future.result()) for key, future in futures]
