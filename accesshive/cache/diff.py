"""The diff cache: what diff found, kept between runs, so a warm plan diffs again only
the identities of the identity files that changed. It wraps ``plan/diff.py``: ``diff``
(``diff`` below), built from the same pieces (``diff_sources``, ``assemble``).

The cache holds the *state* of the last plan of a repository (per environment): for
each identity file, which version of it the state is for; per source, what became
of the accounts nobody claimed; and per file version, what was found for its
identities (only what is not "linked, nothing to do") and their *reach*, the
accounts their matching could contend for (``Matcher.reach``). A plan starts from
that state and diffs again the identities of the files that changed since, joiners
and leavers included.

Why it is safe. Diff is a function of the configuration around the identities, the
snapshot, the day and the wanted accounts. So a state is used only when the
*surroundings* are the same: accesshive's own code, every setting outside the
identities (the check cache's digest: project, sources, profiles, roles, lifecycle
states, policies, environment), the day and every source's snapshot fingerprint. An
unchanged file's identities want exactly what they wanted (its content is in the
key). Matching is first come, first served, but identities only ever contend for the
accounts in their reach (an identity's linked account is its own), so when the reach
of the changed files' identities, before and after, meets no unchanged identity's
reach, the unchanged identities match as before, and the changed ones match among
themselves as a full diff would match them. Then only the accounts in those reaches,
or linked to those identities, can change from claimed to unclaimed or back. When
the reaches meet, or anything is missing, everything is diffed again, as a cold run
does, and the new state replaces all entries of the repository.

Entries live in the cache directory (``store.py``; ``ACCESSHIVE_CACHE_DIR=off`` turns
it off), in a scope per repository and environment, as the rows of ``diff_rows.py``;
a state replaced by a later one is removed with the file versions only it used, so
the directory holds one state per repository, not one per run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from accesshive.cache import check, store
from accesshive.cache import diff_rows as rows
from accesshive.cache.contract import Contract
from accesshive.config.account_kinds import account_link, link_identity
from accesshive.config.config import Config
from accesshive.config.identity_files import identities_digest, identity_files
from accesshive.expand.desired import DesiredAccount, DesiredState
from accesshive.plan.changes import Changes, Found, SourceDiff
from accesshive.plan.diff import (
    assemble,
    diff_sources,
    diffed_sources,
    found_for,
    settled,
    unclaimed_outcome,
)
from accesshive.plan.matching import Matcher, matching_order
from accesshive.state.snapshot import Snapshot

FORMAT = 2

CONTRACT = Contract(
    name="diff",
    wraps="plan/diff.py: diff",
    key="FORMAT, code_digest() (accesshive's own source), the day, the check cache's "
    "`surroundings`, every snapshot fingerprint; per identity-file version its content; "
    "in a scope per repository and environment",
    covers="the state of the last plan of a repository: per file version what was found "
    "for its identities and their reach, per source what became of unclaimed accounts",
    safe="used only when everything around the identities is unchanged; only changed "
    "files' identities are diffed again, and only when their reach (before and after) "
    "meets no unchanged identity's; otherwise a full diff replaces the state",
    cleared="a full diff clears the scope and writes a new state; a state replaced by an "
    "incremental one drops the file versions only it used: one state per repository",
)


def diff(
    config: Config,
    desired: DesiredState,
    snapshot: Snapshot,
    fingerprints: Mapping[str, str],
    today: dt.date,
) -> Changes:
    """``plan/diff.py``: ``diff``, from the state the last plan kept where that still
    holds (module docstring). ``fingerprints``: the snapshot's, part of the key."""
    sources = diffed_sources(config)
    run = _Run(config, desired, fingerprints, today, sources)
    per_source = run.recall(snapshot) if store.cache_dir() is not None else None
    if per_source is None:
        per_source = diff_sources(config, desired, snapshot)
        if store.cache_dir() is not None:
            run.remember_all(per_source, snapshot)
    return assemble(config, desired, snapshot, today, per_source)


class _Run:
    """The keys of one plan run, and reading and writing its entries."""

    def __init__(
        self,
        config: Config,
        desired: DesiredState,
        fingerprints: Mapping[str, str],
        today: dt.date,
        sources: list[str],
    ) -> None:
        self.config = config
        self.desired = desired
        self.sources = sources
        self.files = identity_files(config)
        around = hashlib.sha256(b"accesshive diff cache\0")
        around.update(f"{FORMAT}\0{store.code_digest()}\0{today.isoformat()}\0".encode())
        around.update(check.surroundings(config))
        around.update(json.dumps(dict(sorted(fingerprints.items()))).encode())
        self.around = around.digest()
        self.scope = hashlib.sha256(
            f"{config.root.resolve()}\0{config.environment}".encode()
        ).hexdigest()[:32]
        """One repository in one environment: a full diff replaces all its entries."""

    # ------------------------------------------------------------------ keys

    def _file_key(self, file: str) -> str:
        digest = hashlib.sha256(self.around)
        digest.update(b"file\0" + file.encode() + b"\0")
        digest.update(identities_digest(self.config, file))
        return digest.hexdigest()

    def _state_key(self) -> str:
        return hashlib.sha256(self.around + b"state").hexdigest()

    def _wanted_of(self, files: Iterable[str], sid: str) -> list[DesiredAccount]:
        """The accounts wanted on ``sid`` for the identities of ``files``, in the order
        they match (``matching_order``, as a full diff matches them)."""
        accounts = self.desired.accounts
        links = self._links(sid)
        wanted = [
            a
            for file in files
            for iid in self.files.get(file, ())
            for link in links(iid)
            if (a := accounts.get((sid, link)))
        ]
        return matching_order(wanted)

    def _links(self, sid: str) -> Callable[[str], list[str]]:
        """An identity's links on ``sid``: one per account kind the source declares."""
        kinds = self.config.sources[sid].account_kinds
        if len(kinds) == 1:
            return lambda iid: [iid]
        return lambda iid: [account_link(iid, kind) for kind in kinds]

    # ------------------------------------------------------------------ reading

    def recall(self, snapshot: Snapshot) -> dict[str, SourceDiff] | None:
        """Every source's diff from the kept state, the changed files' identities diffed
        again; None when the state cannot stand for a full diff."""
        state = store.get(self._state_key(), self.scope)
        if not _valid(state, "files"):
            return None
        before: dict[str, str] = state["files"]
        now = {file: self._file_key(file) for file in self.files}
        kept: dict[str, dict[str, Any]] = {}
        for file, key in now.items():
            if before.get(file) == key:
                entry = store.get(key, self.scope)
                if not _valid(entry, "found"):
                    return None
                kept[file] = entry
        changed = sorted(file for file in now if file not in kept)
        gone: dict[str, dict[str, Any]] = {}
        for file, key in before.items():
            if now.get(file) != key:
                entry = store.get(key, self.scope)
                if not _valid(entry, "found"):
                    return None
                gone[file] = entry
        try:
            redone = self._redo(snapshot, state["unclaimed"], kept, changed, gone)
        except (KeyError, TypeError, ValueError):
            return None  # an entry that does not fit what it claims to be: diff it all
        if redone is None:
            return None
        per_source, reach = redone
        if changed or gone:
            self._put_state(now, per_source, {file: reach.get(file, {}) for file in changed})
            for file in gone:  # versions only the replaced state used
                store.drop(before[file], self.scope)
        return per_source

    def _redo(
        self,
        snapshot: Snapshot,
        unclaimed: dict[str, Any],
        kept: dict[str, dict[str, Any]],
        changed: list[str],
        gone: dict[str, dict[str, Any]],
    ) -> tuple[dict[str, SourceDiff], dict[str, dict[str, list[str]]]] | None:
        """Each source's diff: the kept files' findings, the changed files' identities
        matched again among themselves, and the accounts they could contend for decided
        again. None when their reach meets the kept identities' (matching may differ)."""
        per_source: dict[str, SourceDiff] = {}
        reach: dict[str, dict[str, list[str]]] = {}
        again = {iid for file in changed for iid in self.files.get(file, ())}
        again.update(iid for entry in gone.values() for iid in entry["identities"])
        for sid in self.sources:
            found: dict[str, Found | str] = {}
            for entry in kept.values():
                for iid, row in entry["found"].get(sid, {}).items():
                    found[iid] = rows.found_from(row)
            outcomes: rows.Unclaimed = {ext: (c, o) for ext, c, o in unclaimed[sid]}
            if again:
                contended = set()
                for entry in kept.values():
                    contended.update(entry["reach"].get(sid, ()))
                touched = {ext for entry in gone.values() for ext in entry["reach"].get(sid, ())}
                snap = snapshot.source(sid)
                matcher = Matcher(self.config.sources[sid], snap)
                wanted = self._wanted_of(changed, sid)
                file_of = {iid: file for file in changed for iid in self.files.get(file, ())}
                for want in wanted:
                    mine = matcher.reach(want)
                    if mine:
                        touched.update(mine)
                        reach.setdefault(file_of[want.identity], {}).setdefault(sid, []).extend(
                            mine
                        )
                if touched & contended:
                    return None
                source = self.config.sources[sid]
                for want in wanted:
                    have, matched_on, duplicates = matcher.match(want)
                    found[want.link] = settled(
                        found_for(self.desired, source, want, have, matched_on, duplicates)
                    )
                for have in matcher.accounts:
                    ext = have.external_id
                    if ext in touched or link_identity(have.identity) in again:
                        outcomes.pop(ext, None)
                        if ext not in matcher.claimed:
                            changes, orphan = unclaimed_outcome(
                                self.config, self.desired, sid, have
                            )
                            if changes or orphan is not None:
                                outcomes[ext] = (
                                    [rows.change_row(c) for c in changes],
                                    rows.orphan_row(orphan) if orphan else None,
                                )
            per_source[sid] = rows.source_diff(found, outcomes)
        return per_source, reach

    # ------------------------------------------------------------------ writing

    def remember_all(self, per_source: Mapping[str, SourceDiff], snapshot: Snapshot) -> None:
        """Keep everything a full diff found, for the runs that follow."""
        reach: dict[str, dict[str, list[str]]] = {}
        for sid in self.sources:
            matcher = Matcher(self.config.sources[sid], snapshot.source(sid))
            if not matcher.indexed:
                continue  # no account to contend for on this source
            for file in self.files:
                for want in self._wanted_of([file], sid):
                    if mine := matcher.reach(want):
                        reach.setdefault(file, {}).setdefault(sid, []).extend(mine)
        store.clear(self.scope)  # what earlier states kept can no longer be used
        now = {file: self._file_key(file) for file in self.files}
        self._put_state(now, per_source, {file: reach.get(file, {}) for file in self.files})

    def _put_state(
        self,
        now: Mapping[str, str],
        per_source: Mapping[str, SourceDiff],
        reach: Mapping[str, Mapping[str, list[str]]],
    ) -> None:
        """Write the entries of the files in ``reach`` (the files diffed afresh), then the
        state that refers to them: a run cut short leaves the last state whole."""
        for file, file_reach in reach.items():
            mine = self.files.get(file, [])
            found: dict[str, dict[str, Any]] = {}
            for sid, result in per_source.items():
                links = self._links(sid)
                for iid in mine:
                    for link in links(iid):
                        value = result.found.get(link)
                        if isinstance(value, Found):
                            found.setdefault(sid, {})[link] = rows.found_row(value)
            store.put(
                now[file],
                {
                    "format": FORMAT,
                    "identities": list(mine),
                    "found": found,
                    "reach": {sid: sorted(set(ext)) for sid, ext in file_reach.items()},
                },
                self.scope,
            )
        store.put(
            self._state_key(),
            {
                "format": FORMAT,
                "files": dict(now),
                "unclaimed": {
                    sid: rows.unclaimed_rows(result) for sid, result in per_source.items()
                },
            },
            self.scope,
        )


def _valid(entry: Any, field: str) -> bool:
    return isinstance(entry, dict) and entry.get("format") == FORMAT and field in entry
