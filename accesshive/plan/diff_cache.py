"""What diff found, kept between runs per identity file: a warm plan diffs again only
the identities of the files that changed.

Why it is safe. Diff is a function of the configuration around the identities, the
snapshot, the day, and the wanted accounts. Matching (which account is whose) depends
on every wanted account's identity and correlation values: claims are first come,
first served. So the kept results are used only when

- the *surroundings* are unchanged: accesshive's own code, every setting outside the
  identities (the check cache's digest: project, sources, profiles, roles, lifecycle
  states, policies, environment), the day and every source's snapshot fingerprint;
- and the *matching inputs* are unchanged: per source and identity file, a digest of
  the identities wanted there and their correlation values (recomputed for the files
  that changed), and the ids of all identities.

Then every account is matched as last time, and an identity whose file is unchanged
wants exactly what it wanted (its file's content is in the key): what was found for
it holds. The identities of changed files are diffed again against the accounts they
matched last time. Anything else (a joiner, a leaver's file removed, a changed email
used for correlation, a new snapshot) diffs everything, as a cold run does, and keeps
the results for the next run.

Entries (beside the parse cache; ``ACCESSHIVE_CACHE_DIR=off`` turns it off), in a
scope per repository and environment that each full diff clears before it writes, so
the directory holds one state per repository, not one per run: per file, what was
found for its identities (only what is not "linked, nothing to do") and its matching
digests; per file and matching state, how its identities matched; per matching
state, what became of the accounts nobody claimed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from accesshive.config import cache, check_cache
from accesshive.config.config import Config
from accesshive.config.identity_files import identities_digest, identity_files
from accesshive.config.values import normalize
from accesshive.desired import DesiredAccount, DesiredState
from accesshive.plan.diff import (
    Adoption,
    Changes,
    Found,
    Orphan,
    SourceDiff,
    assemble,
    diff_sources,
    diffed_sources,
    found_for,
    settled,
)
from accesshive.plan.orders import Change
from accesshive.state.snapshot import Snapshot

FORMAT = 1


def cached_diff(
    config: Config,
    desired: DesiredState,
    snapshot: Snapshot,
    fingerprints: Mapping[str, str],
    today: dt.date,
) -> Changes:
    """``diff``, from what earlier runs found where that still holds (module docstring)."""
    sources = diffed_sources(config)
    run = _Run(config, desired, fingerprints, today, sources)
    per_source = run.recall(snapshot) if cache.cache_dir() is not None else None
    if per_source is None:
        per_source = diff_sources(config, desired, snapshot)
        if cache.cache_dir() is not None:
            run.remember_all(per_source)
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
        around.update(f"{FORMAT}\0{cache.code_digest()}\0{today.isoformat()}\0".encode())
        around.update(check_cache.surroundings(config))
        around.update(json.dumps(dict(sorted(fingerprints.items()))).encode())
        self.around = around.digest()
        self.scope = hashlib.sha256(
            f"{config.root.resolve()}\0{config.environment}".encode()
        ).hexdigest()[:32]
        """One repository in one environment: a full diff replaces all its entries."""

    @functools.cached_property
    def file_of(self) -> dict[str, str]:
        """identity → the file that declares it."""
        return {iid: file for file, iids in self.files.items() for iid in iids}

    # ------------------------------------------------------------------ keys

    def _file_key(self, file: str) -> str:
        digest = hashlib.sha256(self.around)
        digest.update(b"file\0" + file.encode() + b"\0")
        digest.update(identities_digest(self.config, file))
        return digest.hexdigest()

    def _matching_state(self, matching: Mapping[str, Mapping[str, str]]) -> bytes:
        """One digest of every file's matching digests and of the ids of all identities."""
        digest = hashlib.sha256(self.around)
        for file in sorted(matching):
            for sid, value in sorted(matching[file].items()):
                digest.update(f"{file}\0{sid}\0{value}\0".encode())
        for iid in sorted(self.desired.identities):
            digest.update(iid.encode() + b"\0")
        return digest.digest()

    @staticmethod
    def _state_key(state: bytes, what: str) -> str:
        return hashlib.sha256(state + what.encode()).hexdigest()

    def _matching(self, file: str) -> dict[str, str]:
        """source → digest of the file's identities wanted there with their correlation
        values: what matching reads of them."""
        out = {}
        for sid in self.sources:
            accounts = self._wanted_of(file, sid)
            if accounts:
                out[sid] = _correlation_digest(self.config, sid, accounts)
        return out

    def _wanted_of(self, file: str, sid: str) -> list[DesiredAccount]:
        """The accounts wanted on ``sid`` for the identities of ``file``, in id order."""
        accounts = self.desired.accounts
        return [a for iid in self.files.get(file, ()) if (a := accounts.get((sid, iid)))]

    # ------------------------------------------------------------------ reading

    def recall(self, snapshot: Snapshot) -> dict[str, SourceDiff] | None:
        """Every source's diff rebuilt from the entries, the changed files diffed again;
        None when the entries cannot stand for a full diff."""
        kept: dict[str, dict[str, Any]] = {}
        changed: list[str] = []
        for file in sorted(self.files):
            entry = cache.get(self._file_key(file), self.scope)
            if _valid(entry, "found"):
                kept[file] = entry
            else:
                changed.append(file)
        if not kept:
            return None
        matching = {file: dict(entry["matching"]) for file, entry in kept.items()}
        fresh = {file: self._matching(file) for file in changed}
        matching.update(fresh)
        state = self._matching_state(matching)
        unclaimed = cache.get(self._state_key(state, "unclaimed"), self.scope)
        if not _valid(unclaimed, "sources"):
            return None
        matches = {}
        for file in changed:
            entry = cache.get(self._state_key(state, f"matches\0{file}"), self.scope)
            if not _valid(entry, "sources"):
                return None
            matches[file] = entry["sources"]
        try:
            per_source = self._rebuild(snapshot, kept, unclaimed["sources"], set(changed), matches)
        except (KeyError, TypeError, ValueError):
            return None  # an entry that does not fit what it claims to be: diff it all
        for file in changed:
            self._put_file(file, fresh[file], per_source)
        return per_source

    def _rebuild(
        self,
        snapshot: Snapshot,
        kept: dict[str, dict[str, Any]],
        unclaimed: dict[str, Any],
        changed: set[str],
        matches: dict[str, dict[str, Any]],
    ) -> dict[str, SourceDiff]:
        per_source: dict[str, SourceDiff] = {}
        for sid in self.sources:
            found: dict[str, Found | str] = {}
            for entry in kept.values():
                for iid, row in entry["found"].get(sid, {}).items():
                    found[iid] = _found_from(row)
            redo = [a for file in sorted(changed) for a in self._wanted_of(file, sid)]
            if redo:
                accounts = {a.external_id: a for a in snapshot.source(sid).accounts}
                for want in redo:
                    ext, matched_on, dups = matches[self.file_of[want.identity]][sid][want.identity]
                    have = accounts[ext] if ext is not None else None
                    duplicates = [accounts[d] for d in dups]
                    found[want.identity] = settled(
                        found_for(
                            self.desired,
                            self.config.sources[sid],
                            want,
                            have,
                            matched_on,
                            duplicates,
                        )
                    )
            changes, orphans = unclaimed[sid]
            per_source[sid] = SourceDiff(
                found,
                tuple(_change_from(c) for c in changes),
                tuple(Orphan(*o) for o in orphans),
            )
        return per_source

    # ------------------------------------------------------------------ writing

    def remember_all(self, per_source: Mapping[str, SourceDiff]) -> None:
        """Keep everything a full diff found, for the runs that follow."""
        matching = {file: self._matching(file) for file in self.files}
        state = self._matching_state(matching)
        cache.clear(self.scope)  # what earlier full diffs kept can no longer be used
        cache.put(
            self._state_key(state, "unclaimed"),
            {
                "format": FORMAT,
                "sources": {
                    sid: (
                        [_change_row(c) for c in result.unclaimed],
                        [_orphan_row(o) for o in result.orphans],
                    )
                    for sid, result in per_source.items()
                },
            },
            self.scope,
        )
        matches: dict[str, dict[str, dict[str, Any]]] = {}
        for sid, result in per_source.items():
            for iid, found in result.found.items():
                file = self.file_of.get(iid, "")
                match = (found, "link", ()) if isinstance(found, str) else found.match
                matches.setdefault(file, {}).setdefault(sid, {})[iid] = match
        for file in self.files:
            cache.put(
                self._state_key(state, f"matches\0{file}"),
                {"format": FORMAT, "sources": matches.get(file, {})},
                self.scope,
            )
            self._put_file(file, matching[file], per_source)

    def _put_file(
        self, file: str, matching: Mapping[str, str], per_source: Mapping[str, SourceDiff]
    ) -> None:
        mine = self.files.get(file, ())
        found: dict[str, dict[str, Any]] = {}
        for sid, result in per_source.items():
            for iid in mine:
                value = result.found.get(iid)
                if isinstance(value, Found):
                    found.setdefault(sid, {})[iid] = _found_row(value)
        cache.put(
            self._file_key(file),
            {"format": FORMAT, "matching": dict(matching), "found": found},
            self.scope,
        )


def _correlation_digest(config: Config, sid: str, accounts: list[DesiredAccount]) -> str:
    source = config.sources[sid]
    schema = source.account.schema_
    correlation = source.account.correlation
    digest = hashlib.sha256()
    for account in sorted(accounts, key=lambda a: a.identity):
        values = [
            repr(normalize(value, schema.get(attr)))
            if (value := account.attributes.get(attr)) not in (None, "")
            else ""
            for attr in correlation
        ]
        digest.update(f"{account.identity}\0{values!r}\0".encode())
    return digest.hexdigest()


def _valid(entry: Any, field: str) -> bool:
    return isinstance(entry, dict) and entry.get("format") == FORMAT and field in entry


# Rows: the plain data entries hold (the cache reads back plain data only).


def _change_row(c: Change) -> tuple[Any, ...]:
    return (
        c.action,
        c.source,
        c.identity,
        c.account,
        c.name,
        c.entitlement,
        dict(c.attributes),
        dict(c.details),
        c.sensitive,
    )


def _change_from(row: Any) -> Change:
    action, source, identity, account, name, entitlement, attributes, details, sensitive = row
    return Change(
        action, source, identity, account, name, entitlement, attributes, details, sensitive
    )


def _orphan_row(o: Orphan) -> tuple[Any, ...]:
    return (o.source, o.account, o.name, o.enabled, o.last_login, o.identity)


def _found_row(found: Found) -> tuple[Any, ...]:
    adoption = found.adoption
    return (
        [_change_row(c) for c in found.changes],
        found.conflict,
        (adoption.source, adoption.identity, adoption.account, adoption.matched_on)
        if adoption
        else None,
        found.match,
    )


def _found_from(row: Any) -> Found:
    changes, conflict, adoption, match = row
    ext, matched_on, dups = match
    return Found(
        tuple(_change_from(c) for c in changes),
        conflict,
        Adoption(*adoption) if adoption else None,
        (ext, matched_on, tuple(dups)),
    )
