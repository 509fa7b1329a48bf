"""What each account was seen with (devices, countries, networks), as sorted 64-bit hashes.

Why hashes and not a frame of strings: the takeover detector asks, for every login of every
batch, "has this account used this device (country, network) before?", and it must remember
every account's history for months. Kept as a Polars frame of ``(user, kind, value)`` strings,
each batch re-grouped the whole history by three string columns to merge what it saw, and that
merge was most of the detector's time. Here an entry is one ``uint64`` (a hash of account, kind
and value) with the event time it was last seen, in two numpy arrays sorted by hash: a lookup is
a binary search, a merge an insert into sorted arrays, expiry a mask. Collisions of 64-bit
hashes among millions of entries are below one in a billion.

The country *names* an account used are also kept (a takeover finding lists them), one row per
live (account, country) entry, added when the entry is new and dropped when it expires: a batch of
accounts logging in from where they always do costs them nothing.

:meth:`AccountHistory.observe` answers and records a whole batch of logins in one pass. Why: an
account logs in several times a day from the same device and place, so a batch holds about three
logins per distinct (account, device, country, network) combination. The combinations are found
once (one sort of one 64-bit hash per login), and only they are hashed per kind, sorted, looked up
and merged; the lookups then run over sorted keys, which walk the history in order instead of
jumping about it at random (a quarter of the time for the same answers).

Values are hashed as they come: text as text, numbers (AS numbers) as numbers. Why: turning a
batch's AS numbers into text only to hash them cost more than the rest of reading the batch. A
history saved by state version 1 hashed numbers as their decimal text, and its entries cannot be
re-hashed (only hashes are kept), so it loads in a mode that goes on hashing numbers as text
(:attr:`AccountHistory.numbers_as_text`) and is saved with that mode named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.sketches import HASH_VERSION, U64, _decode, _encode, hash_keys

I64 = npt.NDArray[np.int64]
STATE_VERSION = 2
#: state versions :meth:`AccountHistory.load_json` reads (1: numbers were hashed as their text)
READABLE_VERSIONS = (1, 2)
#: salts that keep (account, device "x") and (account, country "x") apart
KIND_SALTS: dict[str, int] = {"device": 0x51, "country": 0xC0, "asn": 0xA5}
COUNTRY_SCHEMA: dict[str, pl.DataType] = {"user": pl.String(), "value": pl.String(), "seen": pl.Int64()}
#: the kept country names: the entry's hash, the account and the country
NAME_SCHEMA: dict[str, pl.DataType] = {"_k": pl.UInt64(), "user": pl.String(), "value": pl.String()}
_NO_NAMES = pl.DataFrame(schema=NAME_SCHEMA)


def value_hashes(values: pl.Series, *, numbers_as_text: bool = False) -> U64:
    """64-bit hashes of a column of values (nulls hash to a fixed value): text with
    :func:`.hash_keys`, integers as integers (the same Polars hash, no text made), or as their
    decimal text when ``numbers_as_text`` (how state version 1 hashed them)."""
    if values.dtype.is_integer() and not numbers_as_text:
        hashed: U64 = values.cast(pl.Int64).hash(seed=0x5EED).to_numpy().astype(np.uint64, copy=False)
        return hashed
    return hash_keys(values)


def pair_hashes(users: U64, values: U64, salt: int) -> U64:
    """One 64-bit hash per (account hash, value hash) pair, mixed (splitmix64 finaliser) so that
    related pairs do not land on related hashes."""
    with np.errstate(over="ignore"):
        x = users * np.uint64(0x9E3779B97F4A7C15) ^ (values + np.uint64(salt)) * np.uint64(0xC2B2AE3D27D4EB4F)
        x ^= x >> np.uint64(31)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(29)
    return x


class SortedSeen:
    """A set of 64-bit keys with the largest time each was seen, sorted by key."""

    def __init__(self) -> None:
        self.keys: U64 = np.zeros(0, dtype=np.uint64)
        self.seen: I64 = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.keys.size)

    def contains(self, keys: U64) -> npt.NDArray[np.bool_]:
        if self.keys.size == 0:
            return np.zeros(keys.size, dtype=bool)
        pos = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        found: npt.NDArray[np.bool_] = self.keys[pos] == keys
        return found

    def merge_unique(self, keys: U64, seen: I64) -> npt.NDArray[np.bool_]:
        """Record sorted, distinct ``keys`` as seen at ``seen``; return which were already present.

        The callers' keys are sorted already, so the binary search walks the table in order, and
        one search answers both "was it known?" and "where does it go?"."""
        if keys.size == 0:
            return np.zeros(0, dtype=bool)
        pos = np.searchsorted(self.keys, keys)
        if self.keys.size == 0:
            hit = np.zeros(keys.size, dtype=bool)
        else:  # a key past the end compares with the last one, which is smaller
            hit = self.keys[np.minimum(pos, self.keys.size - 1)] == keys
        if hit.all():  # the usual case: no masks to apply
            self.seen[pos] = np.maximum(self.seen[pos], seen)
            return hit
        if hit.any():
            at = pos[hit]
            self.seen[at] = np.maximum(self.seen[at], seen[hit])
        fresh = ~hit
        if fresh.any():
            self.keys = np.insert(self.keys, pos[fresh], keys[fresh])
            self.seen = np.insert(self.seen, pos[fresh], seen[fresh])
        return hit

    def add(self, keys: U64, seen: I64) -> None:
        """Record ``keys`` as seen at ``seen`` (the later time wins for a known key)."""
        if keys.size == 0:
            return
        order = np.lexsort((seen, keys))
        keys, seen = keys[order], seen[order]
        last = np.r_[keys[1:] != keys[:-1], True]  # the latest time of each distinct key
        keys, seen = keys[last], seen[last]
        pos = np.searchsorted(self.keys, keys)
        hit = pos < self.keys.size
        hit[hit] = self.keys[pos[hit]] == keys[hit]
        self.seen[pos[hit]] = np.maximum(self.seen[pos[hit]], seen[hit])
        fresh = ~hit
        self.keys = np.insert(self.keys, pos[fresh], keys[fresh])
        self.seen = np.insert(self.seen, pos[fresh], seen[fresh])

    def expire(self, horizon: int) -> None:
        """Forget keys last seen before ``horizon``."""
        keep = self.seen >= horizon
        if not keep.all():
            self.keys, self.seen = self.keys[keep], self.seen[keep]

    def to_json(self) -> dict[str, Any]:
        return {"n": int(self.keys.size), "keys": _encode(self.keys), "seen": _encode(self.seen)}

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> SortedSeen:
        out = cls()
        n = int(state["n"])
        out.keys = _decode(state["keys"], np.uint64, (n,))
        out.seen = _decode(state["seen"], np.int64, (n,))
        return out


@dataclass
class Observed:
    """What a batch of logins was, per login, before :meth:`AccountHistory.observe` recorded it.

    ``known``: the account was in the history, or logged in earlier in the same batch.
    ``new``: per kind, the value is set and is the account's first use of it (neither in the
    history nor on an earlier login of the batch). ``country_users`` and ``country_values`` hold
    the hashes of the batch's distinct (account, country) pairs, which the impossible-travel test
    reuses to find accounts seen in two countries."""

    known: npt.NDArray[np.bool_]
    new: dict[str, npt.NDArray[np.bool_]]
    country_users: U64
    country_values: U64
    #: per kind, each login's value hash (:func:`value_hashes`; a null has one fixed hash)
    hashes: dict[str, U64]
    #: the names of the batch's new (account, country) entries (:data:`NAME_SCHEMA`), to
    #: :meth:`AccountHistory.keep_countries` once the batch's findings are worded
    countries: pl.DataFrame
    #: per kind, whether each login has a value (read once here, reused by the travel test)
    present: dict[str, npt.NDArray[np.bool_]]


def _groups(keys: U64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``order`` sorting ``keys`` and the ``starts`` of its runs of equal keys (for ``reduceat``);
    within a run, positions ascend (a run's first position is its smallest).

    Why packed: an argsort of the keys costs about three times a plain sort of one word per key
    holding its top bits and its position (the position is then read back from the low bits).
    Keys agreeing in those top bits but not in all (rare) make it use the argsort instead."""
    n = keys.size
    if n < 2:
        return np.arange(n, dtype=np.intp), np.zeros(min(n, 1), dtype=np.intp)
    bits = np.uint64(max(1, (n - 1).bit_length()))
    packed = (keys >> bits) << bits
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << int(bits)) - 1)).astype(np.intp)
    ordered = keys[order]
    change = ordered[1:] != ordered[:-1]
    packed >>= bits
    if bool((change & (packed[1:] == packed[:-1])).any()):
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        change = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(np.r_[True, change])
    return order, starts


class AccountHistory:
    """Per account: the devices, countries and networks (ASNs) it used, and when it last did.

    ``entries`` holds one hash per (account, kind, value), ``users`` one per account with any
    entry (an account is *known* while one of its entries is). :meth:`expire` forgets entries
    last seen before its horizon; the country names go with their entries."""

    #: name chunks beyond this are concatenated (appends are small; lookups are rare)
    MAX_CHUNKS = 64

    def __init__(self) -> None:
        self.entries = SortedSeen()
        self.users = SortedSeen()
        self._names: list[pl.DataFrame] = []
        #: hash integer values as their decimal text, as state version 1 did (set when such a
        #: state is loaded: its entries' hashes must keep matching)
        self.numbers_as_text = False

    def _hashes(self, values: pl.Series) -> U64:
        return value_hashes(values, numbers_as_text=self.numbers_as_text)

    def __len__(self) -> int:
        return len(self.entries)

    def known_users(self, users: U64) -> npt.NDArray[np.bool_]:
        return self.users.contains(users)

    def seen_before(self, users: U64, kind: str, values: pl.Series) -> npt.NDArray[np.bool_]:
        """Whether each (account, value of ``kind``) is in the history."""
        return self.entries.contains(pair_hashes(users, self._hashes(values), KIND_SALTS[kind]))

    def observe(self, logins: pl.DataFrame, users: U64, kinds: tuple[str, ...]) -> Observed:
        """Judge ``logins`` (``user``, ``ts`` ascending, the ``kinds`` columns; ``users`` their
        accounts' hashes) against the history as it was, then record them (as :meth:`add`).

        Gives the same answers as :meth:`known_users`, :meth:`seen_before` and a first-in-batch
        test per login followed by :meth:`add`, from the distinct combinations only. The country
        names are returned rather than kept, so that findings about this batch list the countries
        known before it; pass them to :meth:`keep_countries` afterwards."""
        n = logins.height
        ts = logins["ts"].to_numpy()
        values = {kind: self._hashes(logins[kind]) for kind in kinds}
        if n == 0:
            empty = np.zeros(0, dtype=bool)
            nothing = {kind: empty for kind in kinds}
            return Observed(empty, nothing, users, users, values, _NO_NAMES, nothing)
        present = {kind: logins[kind].is_not_null().to_numpy() for kind in kinds}
        combo = users
        for kind in kinds:  # a null hashes to one fixed value, so it is part of the combination too
            combo = pair_hashes(combo, values[kind], KIND_SALTS[kind])
        order, starts = _groups(combo)
        # each combination's first login (row order: ``_groups`` keeps it within a combination)
        # and its latest time (rows come in ts order: the last row's, once that is checked)
        first = order[starts]
        if bool((ts[1:] >= ts[:-1]).all()):
            latest = ts[order[np.r_[starts[1:] - 1, n - 1]]]
        else:
            latest = np.maximum.reduceat(ts[order], starts)
        c_users = users[first]
        c_any = np.zeros(first.size, dtype=bool)
        keys, rows, seen, kind_of = [], [], [], []
        for number, kind in enumerate(kinds):
            has = present[kind][first]
            c_any |= has
            keys.append(pair_hashes(c_users[has], values[kind][first[has]], KIND_SALTS[kind]))
            rows.append(first[has])
            seen.append(latest[has])
            kind_of.append(np.full(int(has.sum()), number, dtype=np.int8))
        all_keys = np.concatenate(keys)
        new = {kind: np.zeros(n, dtype=bool) for kind in kinds}
        country_users = country_values = np.zeros(0, dtype=np.uint64)
        countries: pl.DataFrame | None = None
        if all_keys.size:
            order, starts = _groups(all_keys)
            unique = all_keys[order[starts]]
            key_rows = np.minimum.reduceat(np.concatenate(rows)[order], starts)
            key_seen = np.maximum.reduceat(np.concatenate(seen)[order], starts)
            key_kind = np.concatenate(kind_of)[order[starts]]
            found = self.entries.merge_unique(unique, key_seen)
            for number, kind in enumerate(kinds):
                new[kind][key_rows[~found & (key_kind == number)]] = True
            if "country" in kinds:
                is_country = key_kind == kinds.index("country")
                pairs = key_rows[is_country]
                country_users, country_values = users[pairs], values["country"][pairs]
                fresh = ~found[is_country]
                if fresh.any():
                    named = logins.select("user", value="country")[pairs[fresh]]
                    hashed = pl.Series(unique[is_country][fresh], dtype=pl.UInt64)
                    countries = named.select(_k=hashed, user="user", value="value")
        # accounts: known before the batch, or not at their first login of it
        order, starts = _groups(c_users)
        account_first = np.minimum.reduceat(first[order], starts)
        account_seen = np.maximum.reduceat(np.where(c_any, latest, np.iinfo(np.int64).min)[order], starts)
        accounts = c_users[order[starts]]
        recorded = account_seen > np.iinfo(np.int64).min  # accounts with some value set
        if recorded.all():  # the usual case: one search answers both
            known_before = self.users.merge_unique(accounts, account_seen)
        else:
            known_before = self.users.contains(accounts)
            self.users.merge_unique(accounts[recorded], account_seen[recorded])
        known = np.ones(n, dtype=bool)
        known[account_first[~known_before]] = False
        if countries is None:
            countries = _NO_NAMES
        return Observed(known, new, country_users, country_values, values, countries, present)

    def add(self, logins: pl.DataFrame, users: U64, kinds: tuple[str, ...]) -> None:
        """Record what ``logins`` (``user``, ``ts`` and the ``kinds`` columns) used, at their ``ts``."""
        self.keep_countries(self.observe(logins, users, kinds).countries)

    def keep_countries(self, named: pl.DataFrame) -> None:
        """Keep the names of new country entries (``Observed.countries``) for :meth:`countries`."""
        if named.height:
            self._names.append(named)
            if len(self._names) > self.MAX_CHUNKS:
                self._names = [pl.concat(self._names)]

    def expire(self, horizon: int) -> None:
        before = len(self.entries)
        self.entries.expire(horizon)
        self.users.expire(horizon)
        if len(self.entries) < before and self._names:
            names = pl.concat(self._names)
            alive = self.entries.contains(names["_k"].to_numpy())
            self._names = [names.filter(pl.Series(alive))] if alive.any() else []

    def countries(self, user: str) -> list[str]:
        """The countries ``user`` logged in from that are still remembered, sorted."""
        rows = pl.concat(self._names).filter(pl.col("user") == user) if self._names else None
        if rows is None or rows.height == 0:
            return []
        return sorted(rows["value"].unique().to_list())

    def _country_rows(self) -> pl.DataFrame:
        """The kept country names with the time each was last seen (:data:`COUNTRY_SCHEMA`)."""
        if not self._names:
            return pl.DataFrame(schema=COUNTRY_SCHEMA)
        names = pl.concat(self._names)
        keys = names["_k"].to_numpy()
        if len(self.entries) == 0:
            return pl.DataFrame(schema=COUNTRY_SCHEMA)
        at = np.minimum(np.searchsorted(self.entries.keys, keys), len(self.entries) - 1)
        alive = self.entries.keys[at] == keys  # every name has its entry; a name without one is not kept
        seen = pl.Series(self.entries.seen[at], dtype=pl.Int64)
        rows = names.select("user", "value", seen=seen).filter(pl.Series(alive))
        return rows.sort("user", "value")

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "hash": HASH_VERSION,
            "numbers": "text" if self.numbers_as_text else "numbers",
            "entries": self.entries.to_json(),
            "users": self.users.to_json(),
            "countries": self._country_rows().to_dict(as_series=False),
        }

    def load_json(self, state: dict[str, Any]) -> None:
        version = state.get("version")
        if version not in READABLE_VERSIONS:
            raise ValueError(f"unsupported account history state version {version!r}")
        if state.get("hash") != HASH_VERSION:
            raise ValueError(f"history hashed with {state.get('hash')!r}, this process hashes with {HASH_VERSION!r}")
        self.entries = SortedSeen.from_json(state["entries"])
        self.users = SortedSeen.from_json(state["users"])
        self.numbers_as_text = version == 1 or state.get("numbers") == "text"
        countries = pl.DataFrame(state["countries"], schema=COUNTRY_SCHEMA)
        keys = pair_hashes(hash_keys(countries["user"]), hash_keys(countries["value"]), KIND_SALTS["country"])
        names = countries.select(_k=pl.Series(keys, dtype=pl.UInt64), user="user", value="value")
        self._names = [names] if names.height else []
