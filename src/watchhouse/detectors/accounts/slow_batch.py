"""One batch of login rows for the slow brute force detector: numpy columns, grouped by address.

Why one grouping for the whole batch: the detector needs every address's rows together in stream
order (to follow its runs), how many failures each address has (one failure and nothing else
going on only touches the table of single failures), and which addresses have nothing tracked at
all (most successful logins). One sort of packed 64-bit words answers all three; filtering the
frame of strings first and sorting the rest again cost several times more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD
from watchhouse.detectors.accounts.sketches import U64, hash_keys
from watchhouse.detectors.accounts.slow_sightings import FAILURE_SCHEMA, NONE, Sighted, Sightings

I64 = npt.NDArray[np.int64]
#: seed of the second address hash that tells apart addresses whose first hashes agree
CHECK_SEED = 0xC4EC


def address_order(h: U64, check: U64) -> tuple[I64, I64]:
    """The order that puts rows of one address together, each address's rows in row order, and
    where each address's rows start in it. ``h`` and ``check`` are two independent 64-bit hashes of
    each row's address: rows are one address when both agree.

    Why packed: a stable sort of the hashes costs several times a plain sort of one word per row
    holding the top bits of ``h`` and the row number (stable by construction). Neighbours in that
    order whose top bits agree are then told apart by one word, ``h ^ check`` (one gather, not one
    per hash): it agrees for one address, and for two only with odds of 2**-64 on top of their top
    bits agreeing. Two addresses agreeing in those top bits but not in that word (rare) make it sort
    exactly instead."""
    n = h.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    bits = np.uint64(max(1, (n - 1).bit_length()))
    packed = (h >> bits) << bits
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    order = (packed & np.uint64((1 << int(bits)) - 1)).astype(np.int64)
    packed >>= bits
    top_same = packed[1:] == packed[:-1]
    mixed = (h ^ check)[order]
    same = top_same & (mixed[1:] == mixed[:-1])
    if not np.array_equal(same, top_same):
        order = np.lexsort((np.arange(n), check, h)).astype(np.int64)
        ordered, checked = h[order], check[order]
        same = (ordered[1:] == ordered[:-1]) & (checked[1:] == checked[:-1])
    if not same.any():  # every row its own address (a flood): row order is as good, and reads in order
        everyone = np.arange(n, dtype=np.int64)
        return everyone, everyone.copy()
    starts = np.flatnonzero(np.r_[True, ~same]).astype(np.int64)
    return order, starts


def columns(frame: pl.DataFrame, names: Iterable[str]) -> pl.DataFrame:
    """The columns ``names`` of ``frame`` as a new frame (shared, not copied).

    Why not ``frame.select(names)``: in the Polars release this project pins, ``select`` runs a
    query (~40 us), and the detector asks for columns several times a batch, however small; taking
    the columns directly costs a few microseconds (like ``series[at]`` for ``series.gather(at)``)."""
    return pl.DataFrame([frame.get_column(name) for name in names])


def stitch(
    at: I64, bound: int, low: Callable[[I64], pl.DataFrame], high: Callable[[I64], pl.DataFrame]
) -> pl.DataFrame:
    """Rows ``at`` of two row sources laid end to end: ``low``'s row ``i`` is ``i``, ``high``'s row
    ``i`` is ``bound + i``. Each source is read once, for its rows only."""
    inside = at < bound
    if inside.all():
        return low(at)
    if not inside.any():
        return high(at - bound)
    both = pl.concat([low(at[inside]), high(at[~inside] - bound)])
    return both[np.argsort(np.r_[np.flatnonzero(inside), np.flatnonzero(~inside)])]


@dataclass(frozen=True, slots=True)
class Carried:
    """Failures carried into a batch for the addresses it touches: open runs' failures (``runs``,
    :data:`.FAILURE_SCHEMA`), then single failures out of the table (``sighted``). The rule reads
    their times and accounts; only the few cited or kept again are read as text (:meth:`rows`)."""

    runs: pl.DataFrame
    sighted: Sighted

    @property
    def height(self) -> int:
        return self.runs.height + self.sighted.ts.size

    def ts(self) -> I64:
        ts: I64 = np.concatenate([self.runs["ts"].to_numpy(), self.sighted.ts])
        return ts

    def account(self) -> npt.NDArray[np.uint32]:
        account: npt.NDArray[np.uint32] = np.concatenate([self.runs["account"].to_numpy(), self.sighted.account])
        return account

    def rows(self, at: I64) -> pl.DataFrame:
        return stitch(at, self.runs.height, self.runs.__getitem__, self.sighted.rows)


class BatchRows:
    """The batch's login rows (``ts``, ``ip``, ``user``, ``path``, ``line``, ``offset``, ``fail``) as
    numpy columns where the rule reads them, grouped by address (:func:`address_order`): ``order``,
    each address's first position ``starts`` and its row count ``sizes``. Strings are read only
    for the few rows that become findings, runs or table entries.

    Rows that are not a failure or a success, or lack an address or a time, are dropped. Why the
    columns are taken straight from the batch: most batches drop nothing, and filtering first
    copied every string column of the batch for nothing (one comparison per outcome, where
    ``is_in`` cost five times more)."""

    def __init__(self, events: pl.DataFrame, table: Sightings) -> None:
        outcome = events["event.outcome"]
        if outcome.null_count():
            outcome = outcome.fill_null("")
        fail: npt.NDArray[np.bool_] = (outcome == "failure").to_numpy()
        keep = fail | (outcome == "success").to_numpy()
        stamps = events[TIMESTAMP_FIELD]
        for column in (events["source.ip"], stamps):
            if column.null_count():
                keep &= column.is_not_null().to_numpy()
        files = events[PATH_FIELD]
        frame = pl.DataFrame(
            [
                stamps.cast(pl.Int64).alias("ts"),
                events["source.ip"].alias("ip"),
                events["user.name"].alias("user"),
                (files.fill_null("") if files.null_count() else files).alias("path"),
                events[LINE_FIELD].alias("line"),
                events[OFFSET_FIELD].alias("offset"),
            ]
        )
        if not keep.all():
            frame = frame[np.flatnonzero(keep)]
            fail = fail[keep]
        self.frame = frame
        self.height = frame.height
        self.fail = fail
        ips = frame["ip"]
        self.hashes = hash_keys(ips)
        self.order, self.starts = address_order(self.hashes, ips.hash(seed=CHECK_SEED).to_numpy())
        self.sizes: I64 = np.diff(np.r_[self.starts, self.height]).astype(np.int64)
        self.ts: I64 = frame["ts"].to_numpy()
        #: the account as the upper half of its name's hash (what runs and the table compare)
        self.account: npt.NDArray[np.uint32] = (hash_keys(frame["user"]) >> np.uint64(32)).astype(np.uint32)
        self._table = table
        failures = columns(frame, ("ts", "user", "path", "line", "offset"))
        schema = {name: dtype for name, dtype in FAILURE_SCHEMA.items() if name != "account"}
        #: the columns of a failure but the account (:meth:`failures` adds it)
        self._failures = failures if failures.schema == schema else failures.cast(schema)  # type: ignore[arg-type]
        paths = frame["path"]
        #: the batch's one file, or None when it has rows of several
        self.path: str | None = paths[0] if self.height and bool((paths == paths[0]).all()) else None
        self._codes: npt.NDArray[np.int32] | None = None
        self._numbers: tuple[I64, ...] | None = None  # line and offset, NONE where missing

    def ips(self, at: I64) -> pl.Series:
        return self.frame["ip"][at]

    def failures(self, at: I64) -> pl.DataFrame:
        """Rows ``at`` as failures (:data:`.FAILURE_SCHEMA`), for the few that are read as text."""
        picked = self._failures[at]
        picked.insert_column(1, pl.Series("account", self.account[at]))
        return picked

    def gather(self, source: I64, carried: Carried) -> pl.DataFrame:
        """Failures by ``source``: a value below :attr:`height` is a row of the batch, ``height + i``
        is ``carried``'s failure ``i``."""
        return stitch(source, self.height, self.failures, carried.rows)

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
            self._numbers = tuple(_numbers(self.frame[name]) for name in ("line", "offset"))
        line, offset = self._numbers
        table.write(slot, fp, self.account[at], codes, self.ts[at], line[at], offset[at])


def _numbers(column: pl.Series) -> I64:
    """``column`` as int64 with :data:`.NONE` for missing (no copy for a full Int64 column)."""
    if column.dtype != pl.Int64:
        column = column.cast(pl.Int64)
    values: I64 = (column.fill_null(NONE) if column.null_count() else column).to_numpy()
    return values
