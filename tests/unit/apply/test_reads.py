"""``apply/reads.py``: ``at_once`` reads every key, at once, and hands back what each gave
(or raised) in the order of the keys, whatever order the reads end in."""

from __future__ import annotations

import threading

import pytest

from accesshive.apply.reads import at_once
from accesshive.errors import ConnectorError


def test_reads_run_at_once_and_come_back_in_the_order_of_the_keys() -> None:
    keys = ["a", "b", "c", "d"]
    together = threading.Barrier(len(keys), timeout=30)  # broken unless all are under way
    ended: list[str] = []
    gate = threading.Lock()

    def read(key: str) -> str:
        together.wait()
        if key == "b":
            raise ConnectorError(key, "refused")
        if key == "c":
            raise KeyError(key)  # a bug: handed back as well, for the caller to raise
        with gate:
            ended.append(key)
        return key.upper()

    got = at_once(keys, read)
    assert [k for k, _ in got] == keys
    assert got[0][1] == "A" and got[3][1] == "D"
    assert isinstance(got[1][1], ConnectorError) and got[1][1].message == "refused"
    assert isinstance(got[2][1], KeyError)
    assert sorted(ended) == ["a", "d"]


@pytest.mark.parametrize("keys, readers", [(["only"], 8), (["a", "b"], 1)])
def test_one_key_or_one_reader_reads_on_the_callers_thread(keys: list[str], readers: int) -> None:
    threads: list[threading.Thread] = []

    def read(key: str) -> str:
        threads.append(threading.current_thread())
        return key

    assert at_once(keys, read, readers) == [(k, k) for k in keys]
    assert threads == [threading.current_thread()] * len(keys)
