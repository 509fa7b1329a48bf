"""The sorted 64-bit tables behind :class:`.AccountHistory`: known combinations and counted keys.

Why combinations: an account logs in day after day with the same device, from the same country
and network, so nearly every login repeats an (account, device, country, network) combination
already seen. :class:`ComboTable` keeps each combination once, with the time it was last seen
and the history keys it holds (the account and its three (account, kind, value) entries). A
repeated combination then costs one binary search and a ``max`` on its time; only combinations
never seen before are split into their entries and merged into the entry tables.

Why counts instead of times on the entries: an entry's last-seen time is the latest time of the
combinations that hold it, so an entry is alive exactly while some live combination holds it.
:class:`CountedKeys` counts, per entry (and per account), the live combinations holding it:
expiry drops old combinations and takes their counts back, and an entry or account whose count
falls to zero is forgotten - the same moment its own last-seen time would have expired it, with
no per-entry time to keep up to date on every repeat login.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from watchhouse.detectors.accounts.sketches import U64, _decode, _encode

I64 = npt.NDArray[np.int64]
#: a combination's references: the account, then one entry per kind (device, country, network)
REFS = 4


class CountedKeys:
    """A set of 64-bit keys, sorted, each with how many live combinations hold it."""

    def __init__(self, keys: U64 | None = None, counts: I64 | None = None) -> None:
        self.keys: U64 = np.zeros(0, dtype=np.uint64) if keys is None else keys
        self.counts: I64 = np.zeros(0, dtype=np.int64) if counts is None else counts

    @classmethod
    def counting(cls, keys: U64) -> CountedKeys:
        """The table holding each of ``keys`` (repeats allowed) as often as it occurs."""
        unique, counts = np.unique(keys, return_counts=True)
        return cls(unique.astype(np.uint64), counts.astype(np.int64))

    def __len__(self) -> int:
        return int(self.keys.size)

    def contains(self, keys: U64) -> npt.NDArray[np.bool_]:
        if self.keys.size == 0:
            return np.zeros(keys.size, dtype=bool)
        pos = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        found: npt.NDArray[np.bool_] = self.keys[pos] == keys
        return found

    def merge(self, keys: U64, counts: I64) -> npt.NDArray[np.bool_]:
        """Add ``counts`` to sorted, distinct ``keys``; return which were present before.

        A key not present is inserted only with a positive count (an account seen with no value
        at all is asked about but not recorded)."""
        if keys.size == 0:
            return np.zeros(0, dtype=bool)
        pos = np.searchsorted(self.keys, keys)
        if self.keys.size == 0:
            hit = np.zeros(keys.size, dtype=bool)
        else:  # a key past the end compares with the last one, which is smaller
            hit = self.keys[np.minimum(pos, self.keys.size - 1)] == keys
        self.counts[pos[hit]] += counts[hit]
        fresh = ~hit & (counts > 0)
        if fresh.any():
            self.keys = np.insert(self.keys, pos[fresh], keys[fresh])
            self.counts = np.insert(self.counts, pos[fresh], counts[fresh])
        return hit

    def release(self, keys: U64) -> None:
        """Take back one count per occurrence in ``keys`` (all present); forget keys left at zero."""
        if keys.size == 0:
            return
        unique, counts = np.unique(keys, return_counts=True)
        pos = np.searchsorted(self.keys, unique)
        self.counts[pos] -= counts
        gone = self.counts[pos] <= 0
        if gone.any():
            keep = np.ones(self.keys.size, dtype=bool)
            keep[pos[gone]] = False
            self.keys, self.counts = self.keys[keep], self.counts[keep]


class ComboTable:
    """Combinations seen, sorted by hash, with the time each was last seen and the keys it holds.

    ``refs[i]`` are combination ``i``'s account hash and entry keys; ``held[i]`` says which of
    them it holds (a login without a device holds no device entry)."""

    def __init__(self) -> None:
        self.keys: U64 = np.zeros(0, dtype=np.uint64)
        self.seen: I64 = np.zeros(0, dtype=np.int64)
        self.refs: U64 = np.zeros((0, REFS), dtype=np.uint64)
        self.held: npt.NDArray[np.bool_] = np.zeros((0, REFS), dtype=bool)

    def __len__(self) -> int:
        return int(self.keys.size)

    def touch(self, keys: U64, seen: I64) -> npt.NDArray[np.bool_]:
        """For sorted, distinct ``keys``: which are known; the known ones keep the later of their
        time and ``seen`` (the sorted keys walk the table in order: one search for both)."""
        if self.keys.size == 0 or keys.size == 0:
            return np.zeros(keys.size, dtype=bool)
        pos = np.searchsorted(self.keys, keys)
        hit: npt.NDArray[np.bool_] = self.keys[np.minimum(pos, self.keys.size - 1)] == keys
        if hit.all():  # the usual batch: every combination known, no masks to apply
            self.seen[pos] = np.maximum(self.seen[pos], seen)
        else:
            self.seen[pos[hit]] = np.maximum(self.seen[pos[hit]], seen[hit])
        return hit

    def insert(self, keys: U64, seen: I64, refs: U64, held: npt.NDArray[np.bool_]) -> None:
        """Add combinations not in the table (``keys`` sorted, distinct)."""
        if keys.size == 0:
            return
        pos = np.searchsorted(self.keys, keys)
        self.keys = np.insert(self.keys, pos, keys)
        self.seen = np.insert(self.seen, pos, seen)
        self.refs = np.insert(self.refs, pos, refs, axis=0)
        self.held = np.insert(self.held, pos, held, axis=0)

    def expire(self, horizon: int) -> tuple[U64, npt.NDArray[np.bool_]] | None:
        """Forget combinations last seen before ``horizon``; return their ``refs`` and ``held``
        (None when none went)."""
        keep = self.seen >= horizon
        if keep.all():
            return None
        gone = (self.refs[~keep], self.held[~keep])
        self.keys, self.seen, self.refs, self.held = self.keys[keep], self.seen[keep], self.refs[keep], self.held[keep]
        return gone

    def to_json(self) -> dict[str, Any]:
        return {
            "n": len(self),
            "keys": _encode(self.keys),
            "seen": _encode(self.seen),
            "refs": _encode(self.refs),
            "held": _encode(self.held.astype(np.uint8)),
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> ComboTable:
        out, n = cls(), int(state["n"])
        out.keys = _decode(state["keys"], np.uint64, (n,))
        out.seen = _decode(state["seen"], np.int64, (n,))
        out.refs = _decode(state["refs"], np.uint64, (n, REFS))
        out.held = _decode(state["held"], np.uint8, (n, REFS)).astype(bool)
        return out

    @classmethod
    def of(cls, keys: U64, seen: I64, refs: U64, held: npt.NDArray[np.bool_]) -> ComboTable:
        """A table of the given combinations (any order; keys distinct)."""
        out, order = cls(), np.argsort(keys, kind="stable")
        out.keys, out.seen, out.refs, out.held = keys[order], seen[order], refs[order], held[order]
        return out
