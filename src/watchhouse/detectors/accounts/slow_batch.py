"""One batch of login rows for the slow brute force detector: numpy columns, grouped by address.

Why one grouping for the whole batch: the detector needs every address's rows together in stream
order (to follow its runs), how many failures each address has (one failure and nothing else
going on only touches the table of single failures), and which addresses have nothing tracked at
all (most successful logins). One sort of packed 64-bit words answers all three; filtering the
frame of strings first and sorting the rest again cost several times more.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.sketches import U64, hash_keys
from watchhouse.detectors.accounts.slow_sightings import FAILURE_SCHEMA, NONE, Sightings

I64 = npt.NDArray[np.int64]
#: seed of the second address hash that tells apart addresses whose first hashes agree
CHECK_SEED = 0xC4EC


def address_order(h: U64, check: U64) -> tuple[I64, I64]:
    """The order that puts rows of one address together, each address's rows in row order, and
    where each address's rows start in it. ``h`` and ``check`` are two independent 64-bit hashes of
    each row's address: rows are one address when both agree.

    Why packed: a stable sort of the hashes costs several times a plain sort of one word per row
    holding the top bits of ``h`` and the row number (stable by construction). Two addresses
    agreeing in those top bits but not in both hashes (rare) make it sort exactly instead."""
    n = h.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    bits = np.uint64(max(1, (n - 1).bit_length()))
    packed = (h >> bits) << bits
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << int(bits)) - 1)).astype(np.int64)
    ordered, checked = h[order], check[order]
    same = (ordered[1:] == ordered[:-1]) & (checked[1:] == checked[:-1])
    packed >>= bits
    if bool((packed[1:] == packed[:-1])[~same].any()):
        order = np.lexsort((np.arange(n), check, h)).astype(np.int64)
        ordered, checked = h[order], check[order]
        same = (ordered[1:] == ordered[:-1]) & (checked[1:] == checked[:-1])
    if not same.any():  # every row its own address (a flood): row order is as good, and reads in order
        everyone = np.arange(n, dtype=np.int64)
        return everyone, everyone.copy()
    starts = np.flatnonzero(np.r_[True, ~same]).astype(np.int64)
    return order, starts


class BatchRows:
    """The batch's rows (``ts``, ``ip``, ``user``, ``path``, ``line``, ``offset``, ``fail``) as numpy
    columns where the rule reads them, grouped by address (:func:`address_order`): ``order``,
    each address's first position ``starts`` and its row count ``sizes``. Strings are read only
    for the few rows that become findings, runs or table entries."""

    def __init__(self, frame: pl.DataFrame, table: Sightings) -> None:
        self.frame = frame
        self.height = frame.height
        ips = frame["ip"]
        self.hashes = hash_keys(ips)
        self.order, self.starts = address_order(self.hashes, ips.hash(seed=CHECK_SEED).to_numpy())
        self.sizes: I64 = np.diff(np.r_[self.starts, self.height]).astype(np.int64)
        self.ts: I64 = frame["ts"].to_numpy()
        self.fail: npt.NDArray[np.bool_] = frame["fail"].to_numpy()
        #: the account as the upper half of its name's hash (what runs and the table compare)
        self.account: npt.NDArray[np.uint32] = (hash_keys(frame["user"]) >> np.uint64(32)).astype(np.uint32)
        columns = [pl.Series("account", self.account) if c == "account" else pl.col(c) for c in FAILURE_SCHEMA]
        failures = frame.select(columns)
        #: the rows as failures (:data:`.FAILURE_SCHEMA`), for the few that are read as text
        self.failures = failures if failures.schema == FAILURE_SCHEMA else failures.cast(FAILURE_SCHEMA)  # type: ignore[arg-type]
        self._table = table
        paths = frame["path"]
        #: the batch's one file, or None when it has rows of several
        self.path: str | None = paths[0] if self.height and bool((paths == paths[0]).all()) else None
        self._codes: npt.NDArray[np.int32] | None = None
        self._numbers: tuple[I64, ...] | None = None  # line and offset, NONE where missing

    def ips(self, at: I64) -> pl.Series:
        return self.frame["ip"].gather(at)

    def with_failures(self, more: pl.DataFrame) -> pl.DataFrame:
        """All rows as failures, then ``more`` (a row ``height + i`` is ``more``'s row ``i``)."""
        return pl.concat([self.failures, more])

    def write(self, slot: I64, fp: npt.NDArray[np.uint32], at: I64) -> None:
        """Store rows ``at`` in the table of single failures (later rows win a shared slot)."""
        if at.size == 0:
            return
        table = self._table
        if self.path is not None:
            codes = np.full(at.size, table.path_code(self.path), dtype=np.int32)
        else:
            if self._codes is None:
                self._codes = table.path_codes(self.frame["path"])
            codes = self._codes[at]
        if self._numbers is None:
            self._numbers = tuple(
                self.frame[name].cast(pl.Int64).fill_null(NONE).to_numpy() for name in ("line", "offset")
            )
        line, offset = self._numbers
        table.write(slot, fp, self.account[at], codes, self.ts[at], line[at], offset[at])
