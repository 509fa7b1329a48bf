"""What each account was seen with (devices, countries, networks), as sorted 64-bit hashes.

Why hashes and not a frame of strings: the takeover detector asks, for every login of every
batch, "has this account used this device (country, network) before?", and it must remember
every account's history for months. Kept as a Polars frame of ``(user, kind, value)`` strings,
each batch re-grouped the whole history by three string columns to merge what it saw, and that
merge was most of the detector's time. Here an entry is one ``uint64`` (a hash of account, kind
and value) with the event time it was last seen, in two numpy arrays sorted by hash: a lookup is
a binary search, a merge an insert into sorted arrays, expiry a mask. Collisions of 64-bit
hashes among millions of entries are below one in a billion.

The country *names* an account used are also kept (a takeover finding lists them), appended per
batch and merged only when they have doubled, so their upkeep is proportional to the input too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.sketches import HASH_VERSION, U64, _decode, _encode, hash_keys

I64 = npt.NDArray[np.int64]
STATE_VERSION = 1
#: salts that keep (account, device "x") and (account, country "x") apart
KIND_SALTS: dict[str, int] = {"device": 0x51, "country": 0xC0, "asn": 0xA5}
COUNTRY_SCHEMA: dict[str, pl.DataType] = {"user": pl.String(), "value": pl.String(), "seen": pl.Int64()}


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


class AccountHistory:
    """Per account: the devices, countries and networks (ASNs) it used, and when it last did.

    ``entries`` holds one hash per (account, kind, value), ``users`` one per account with any
    entry (an account is *known* while one of its entries is). :meth:`expire` forgets entries
    last seen before its horizon; the country names go with them (row by row: an entry is last
    seen before the horizon exactly when all of its rows are)."""

    def __init__(self) -> None:
        self.entries = SortedSeen()
        self.users = SortedSeen()
        self._countries: list[pl.DataFrame] = []
        self._merged_rows = 0

    def __len__(self) -> int:
        return len(self.entries)

    def known_users(self, users: U64) -> npt.NDArray[np.bool_]:
        return self.users.contains(users)

    def seen_before(self, users: U64, kind: str, values: pl.Series) -> npt.NDArray[np.bool_]:
        """Whether each (account, value of ``kind``) is in the history."""
        return self.entries.contains(pair_hashes(users, hash_keys(values), KIND_SALTS[kind]))

    def add(self, logins: pl.DataFrame, users: U64, kinds: tuple[str, ...]) -> None:
        """Record what ``logins`` (``user``, ``ts`` and the ``kinds`` columns) used, at their ``ts``."""
        ts = logins["ts"].to_numpy()
        any_value = np.zeros(logins.height, dtype=bool)
        for kind in kinds:
            present = logins[kind].is_not_null().to_numpy()
            any_value |= present
            keys = pair_hashes(users[present], hash_keys(logins[kind].filter(present)), KIND_SALTS[kind])
            self.entries.add(keys, ts[present])
        self.users.add(users[any_value], ts[any_value])
        countries = logins.filter(pl.col("country").is_not_null())
        if countries.height:
            self._countries.append(countries.group_by("user", value="country").agg(seen=pl.col("ts").max()))
            if sum(c.height for c in self._countries) > 2 * self._merged_rows + 1024:
                self._merge_countries()

    def expire(self, horizon: int) -> None:
        self.entries.expire(horizon)
        self.users.expire(horizon)
        old = pl.col("seen") < horizon
        self._countries = [c if not c["seen"].lt(horizon).any() else c.filter(~old) for c in self._countries]
        self._countries = [c for c in self._countries if c.height]

    def countries(self, user: str) -> list[str]:
        """The countries ``user`` logged in from that are still remembered, sorted."""
        rows = pl.concat(self._countries).filter(pl.col("user") == user) if self._countries else None
        if rows is None or rows.height == 0:
            return []
        return sorted(rows["value"].unique().to_list())

    def _merge_countries(self) -> pl.DataFrame:
        if not self._countries:
            return pl.DataFrame(schema=COUNTRY_SCHEMA)
        merged = pl.concat(self._countries).group_by("user", "value").agg(pl.col("seen").max())
        merged = merged.sort("user", "value").select(list(COUNTRY_SCHEMA))
        self._countries = [merged] if merged.height else []
        self._merged_rows = merged.height
        return merged

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "hash": HASH_VERSION,
            "entries": self.entries.to_json(),
            "users": self.users.to_json(),
            "countries": self._merge_countries().to_dict(as_series=False),
        }

    def load_json(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported account history state version {state.get('version')!r}")
        if state.get("hash") != HASH_VERSION:
            raise ValueError(f"history hashed with {state.get('hash')!r}, this process hashes with {HASH_VERSION!r}")
        self.entries = SortedSeen.from_json(state["entries"])
        self.users = SortedSeen.from_json(state["users"])
        countries = pl.DataFrame(state["countries"], schema=COUNTRY_SCHEMA)
        self._countries = [countries] if countries.height else []
        self._merged_rows = countries.height
