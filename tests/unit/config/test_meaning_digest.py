"""The meaning digest (``config/meaning.py``) is pinned: saved plans are bound to it.

Why: the walk that computes it is written for speed, and a faster walk that changed one
byte of the canonical form would make every saved plan "stale". These digests were
computed by the first implementation; any rewrite must give them exactly.
"""

from __future__ import annotations

import datetime as dt

from accesshive.config.meaning import meaning_digest

DOC = {
    "identities": {
        "ada": {
            "type": "human",
            "attributes": {
                # keys that sort differently as JSON text than as Python strings
                "a b": "x",
                "a": 1,
                "a!": 1.5,
                'z"q': True,
                "n": None,
                "é": "Zoë",
                "since": dt.date(2026, 1, 2),
                "at": dt.datetime(2026, 1, 2, 3, 4),
            },
            "roles": ["r1", "r2"],
        }
    },
    # keys that are not strings (a YAML mapping may have them)
    1: "an integer key",
    None: {},
    dt.date(2026, 5, 1): ["a date key"],
}


def test_the_digest_of_a_document_is_what_it_always_was() -> None:
    assert meaning_digest(DOC) == "cf319b75db5308333265e4c8db437eb032ded5119f7c960ba70acf44cddfe2e1"
    assert meaning_digest(DOC["identities"]) == (
        "dda723fd34deb89565fb06d7800bfb7c57efb9c694a6bd1e90bfae0af64d0eea"
    )


def test_key_order_does_not_matter_and_types_do() -> None:
    attributes = DOC["identities"]["ada"]["attributes"]  # type: ignore[index]
    reordered = {
        **DOC,
        "identities": {
            "ada": {
                "roles": ["r1", "r2"],
                "type": "human",
                "attributes": dict(reversed(attributes.items())),
            }
        },
    }
    assert meaning_digest(reordered) == meaning_digest(DOC)
    assert meaning_digest({"a": 1}) != meaning_digest({"a": "1"})
    assert meaning_digest({"a": 1}) != meaning_digest({"a": 1.0})
    assert meaning_digest({"a": ["r1", "r2"]}) != meaning_digest({"a": ["r2", "r1"]})
