"""Event-time burst tracking for login failures: the state machine behind the burst detector.

Why a separate module: the detector decides *what* a suspicious burst means (subjects, severity,
wording); this module decides *when* a burst exists and is finished, in a way that does not depend
on how the input was cut into batches or whether the process restarted in between. Everything is
defined on event time and on the position of each row in the whole input stream:

* Every row gets a stream sequence number (``seq``). Each input file (``log.file.path``) is its
  own event-time stream with its own watermark: the largest ``@timestamp`` of all rows before it
  *from the same file*, minus the allowed lateness. A row older than its file's watermark is
  *late* and ignored. Per-file watermarks matter because files are read one after another: a
  day of web logins read first must not make the morning of ``sshd.log`` read next look late.
  Because this is a property of the stream, not of the batch, splitting the input differently
  drops exactly the same rows.
* Per key, the admitted failures sorted by ``(ts, seq)`` form bursts: maximal runs in which each
  failure lies within ``window`` of the previous one. A burst is *closed* once the watermark of
  every file that contributed to it passes ``last + window``; no admitted row from those files
  can then extend it (it would be late).
* A burst is *reported from* one window before the failure that first made its chain *warm*
  (half the threshold within one window, see :func:`warm_level`); failures before that are a
  quiet lead-in, dropped from state once the watermark shows the chain cannot have warmed up in
  time. This is what bounds state under a flood of keys that each fail now and then.
* Successes are kept while they could still fall into some burst's range
  ``[first, last + window]``: those at or after the watermark (a later out-of-order failure may
  still precede them) and those of keys with an open burst that starts no later than them.

State lives in two Polars frames (open failures, retained successes, both in arrival order) and,
beyond :data:`EXACT_LIMIT` held rows, the pending buffer of :mod:`.burst_pending`. Each batch
sorts the failures' integer columns once by key hash and time (:func:`segmented`) and finds
bursts, peaks and cut-offs with numpy run arithmetic; the text columns are only picked out for
the rows of bursts being reported, and Python loops only over warm chains being trimmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.burst_keys import (
    ACCOUNT_KIND,
    IP_KIND,
    KEY_SEP,
    ROW_SCHEMA,
    empty_rows,
    file_watermark,
    keyed,
    warm_level,
)
from watchhouse.detectors.accounts.burst_pending import PENDING_SCHEMA, PendingFailures
from watchhouse.detectors.accounts.direct_columns import filtered
from watchhouse.detectors.accounts.sketches import hash_keys

INPUT_COLUMNS: dict[str, pl.DataType] = {
    "ts": pl.Int64(),  # event time, microseconds since the epoch (UTC)
    "outcome": pl.String(),
    "ip": pl.String(),
    "user": pl.String(),
    "service": pl.String(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
}


_ADMITTED_SUCCESS = pl.col("admitted") & (pl.col("outcome") == "success")
STATE_VERSION = 3

BURST_SCHEMA: dict[str, pl.DataType] = {
    "seg": pl.Int64(),
    "kind": pl.String(),
    "key": pl.String(),
    "peak": pl.Int64(),
    "peak_start": pl.Int64(),
    "peak_end": pl.Int64(),
}
_SEG_ROWS: dict[str, pl.DataType] = {"seg": pl.Int64(), **ROW_SCHEMA}


@dataclass(frozen=True)
class ClosedBursts:
    """Finished bursts that reached their threshold, all closed by one call, as three frames.

    Why frames and not one object per burst: a host under a dictionary attack closes thousands
    of bursts per batch, and building a Polars frame per burst cost milliseconds each; the
    detector aggregates all of them in one pass instead.
    """

    bursts: pl.DataFrame  # BURST_SCHEMA, one row per burst, by ``seg`` (report in kind, key, seg order)
    failures: pl.DataFrame  # seg + ROW_SCHEMA, sorted by (seg, ts, seq)
    successes: pl.DataFrame  # seg + ROW_SCHEMA within [first, last + window], sorted by (seg, ts, seq)

    def __len__(self) -> int:
        return self.bursts.height

    @staticmethod
    def none() -> ClosedBursts:
        return ClosedBursts(
            pl.DataFrame(schema=BURST_SCHEMA), pl.DataFrame(schema=_SEG_ROWS), pl.DataFrame(schema=_SEG_ROWS)
        )


def peak_in_window(ts: np.ndarray[Any, np.dtype[np.int64]], window: int) -> tuple[int, int, int]:
    """Most events within any closed interval of length ``window`` of sorted ``ts``.

    Returns ``(count, start_ts, end_ts)``; one binary search per event, all vectorised.
    """
    left = np.searchsorted(ts, ts - window, side="left")
    counts = np.arange(1, len(ts) + 1) - left
    best = int(np.argmax(counts))
    return int(counts[best]), int(ts[left[best]]), int(ts[best])


#: keyed failures held exactly, beyond which the failures of keys not warm yet wait in the pending
#: buffer (:class:`.burst_pending.PendingFailures`). Why not always: the buffer bounds memory under a
#: flood of millions of one-off keys, but deciding per batch which keys are warm costs several times
#: what tracking a few hundred thousand rows exactly does, and ordinary traffic (a day of logins, a
#: dictionary attack on a host) holds far fewer. Findings are the same either way: a key's failures
#: are all exact or all waiting, and waiting ones move over as soon as they could matter.
EXACT_LIMIT = 1 << 18

#: mixed into the key hash of address keys, so that an address and an account key never share one
_IP_MIX = np.uint64(0x9E3779B97F4A7C15)

#: stands for "no watermark yet" in integer arrays (a segment's watermark is the least of its rows')
_NO_MARK = np.iinfo(np.int64).max


def _key_order(
    rows: pl.DataFrame,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The order that sorts ``rows`` by key, then ``ts``, then ``seq``; per sorted row after the
    first whether it has the previous one's key (kind and text); and per row whether it is an
    address key.

    Why keys by a number: a sort led by two string columns row-encodes every key, and it ran on
    all open failures every batch (a dictionary attack holds ~100,000 of ~200 keys). Instead the
    rows are ranked by time (``ts``, ``seq``; they arrive nearly in that order, so this sort is
    cheap) and one 64-bit word per row is sorted: the top bits of the key's hash (the kind mixed
    in) above the row's time rank. That costs a fifth of a three-column ``lexsort`` led by the
    full hash. Keys come out in hash order: any order that keeps a key's rows together serves for
    segmenting, and findings are put in key order when reported. Two keys whose hashes share the
    top bits would mix, and two keys with one hash (never seen in practice) would be one: then
    there are fewer distinct hashes than keys, and the keys' dense rank decides instead."""
    keys = rows.get_column("key")
    is_ip = (rows.get_column("kind") == IP_KIND).to_numpy()
    seq, ts = rows.get_column("seq").to_numpy(), rows.get_column("ts").to_numpy()
    n = len(seq)
    code = hash_keys(keys) ^ (is_ip.astype(np.uint64) * _IP_MIX)  # the kind is part of the key
    by_time = np.lexsort((seq, ts))
    index_bits = np.uint64(max(1, (n - 1).bit_length()))
    packed = (code >> index_bits) << index_bits
    rank = np.empty(n, dtype=np.uint64)
    rank[by_time] = np.arange(n, dtype=np.uint64)
    packed |= rank
    packed.sort()
    order = by_time[(packed & ((np.uint64(1) << index_bits) - np.uint64(1))).astype(np.int64)]
    packed >>= index_bits
    ordered = code[order]
    same: npt.NDArray[np.bool_] = ordered[1:] == ordered[:-1]
    mixed = bool(((packed[1:] == packed[:-1]) & ~same).any())  # two hashes share the top bits
    if mixed or len(same) - int(same.sum()) + 1 != keys.n_unique():  # distinct hashes != distinct keys: a clash
        dense = keys.rank("dense").cast(pl.UInt64).to_numpy() * np.uint64(2) + is_ip.astype(np.uint64)
        order = np.lexsort((seq, ts, dense))
        ordered = dense[order]
        same = ordered[1:] == ordered[:-1]
    return order.astype(np.int64), same, is_ip


@dataclass(frozen=True)
class Segments:
    """Failures cut into segments (maximal runs of one key's failures, each within one window of
    the previous), computed on sorted copies of the integer columns only.

    Why the frame is not sorted: the rows carry six text columns, and gathering them into key
    order every batch cost more than finding the segments; only rows that are reported, or
    dropped, are ever picked out (:meth:`BurstTracker._emit`, :meth:`BurstTracker._advance`).
    For the same reason only the segments that matter beyond this batch get a table with their
    key: those closing with enough failures to be a burst (``emit``) and those still open. Most
    segments are a key's one or two stray failures that close unreported; they are only numbers
    (``closed``)."""

    order: npt.NDArray[np.int64]  # sorted position -> row of the failures frame
    seg: npt.NDArray[np.int64]  # segment of each sorted position (1, 2, ...)
    ts: npt.NDArray[np.int64]  # event time of each sorted position
    count: int  # how many segments there are
    closed: npt.NDArray[np.int64]  # the segments that close now, reported or not
    emit: pl.DataFrame  # closing segments with at least their threshold of failures (SEGMENT_SCHEMA)
    open: pl.DataFrame  # segments still open (SEGMENT_SCHEMA)
    tracked: pl.DataFrame  # ``emit`` and ``open`` in one table, in that order


#: the per-segment tables of :class:`Segments`: key, first and last failure time, failures, least
#: file watermark of its rows (null: none known), first sorted position
SEGMENT_SCHEMA: dict[str, pl.DataType] = {
    "seg": pl.Int64(),
    "kind": pl.String(),
    "key": pl.String(),
    "first": pl.Int64(),
    "last": pl.Int64(),
    "n": pl.Int64(),
    "wm": pl.Int64(),
    "start": pl.Int64(),
}


def _segment_table(
    rows: pl.DataFrame,
    at: npt.NDArray[np.int64],
    seg: npt.NDArray[np.int64],
    first: npt.NDArray[np.int64],
    last: npt.NDArray[np.int64],
    n: npt.NDArray[np.int64],
    wm: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
) -> pl.DataFrame:
    """The :data:`SEGMENT_SCHEMA` table of segments whose first row is ``rows[at]`` (``wm`` is
    :data:`_NO_MARK` where none is known, null in the table).

    Why built from series and not by a ``select`` over a gather: it runs on every batch, and the
    two queries cost half as much again as the series, on a table of a few hundred rows."""
    marks = pl.Series("wm", wm, dtype=pl.Int64)
    unknown = np.flatnonzero(wm == _NO_MARK)
    if unknown.size:
        marks = marks.scatter(unknown, None)
    # a frame's gather by a numpy array costs half of two series' gathers (each converts the array)
    kind, key = pl.DataFrame([rows.get_column("kind"), rows.get_column("key")])[at].get_columns()
    numbers = {"first": first, "last": last, "n": n}
    return pl.DataFrame(
        [
            pl.Series("seg", seg, dtype=pl.Int64),
            kind,
            key,
            *(pl.Series(name, values, dtype=pl.Int64) for name, values in numbers.items()),
            marks,
            pl.Series("start", start, dtype=pl.Int64),
        ]
    )


def segmented(
    rows: pl.DataFrame, window: int, watermark: Mapping[str, int] | None, thresholds: Mapping[str, int]
) -> Segments:
    """The :class:`Segments` of ``rows`` (at least one); ``watermark`` maps each file to its
    watermark (None: none known, at the end of input, when every segment closes).

    A segment closes once its least file watermark passes ``last + window``; a segment whose
    watermark is unknown (null) neither closes nor counts as open."""
    order, same, is_ip = _key_order(rows)
    ts = rows.get_column("ts").to_numpy()[order]
    fresh = np.ones(len(ts), dtype=np.bool_)
    fresh[1:] = ~same | (np.diff(ts) > window)
    seg = np.cumsum(fresh, dtype=np.int64)
    starts = np.flatnonzero(fresh)
    ends = np.r_[starts[1:], len(ts)]
    first, last, n = ts[starts], ts[ends - 1], ends - starts
    if watermark is None:
        lows = np.full(len(starts), _NO_MARK, dtype=np.int64)
        closing = np.ones(len(starts), dtype=np.bool_)
        still_open = ~closing
    else:
        if len(watermark) == 1:  # every row is from the one file seen so far
            lows = np.full(len(starts), next(iter(watermark.values())), dtype=np.int64)
        else:
            marks = rows.select(wm=file_watermark(watermark)).to_series().fill_null(_NO_MARK).to_numpy()
            lows = np.minimum.reduceat(marks[order], starts)
        known = lows != _NO_MARK
        closing = known & (last + window < lows)
        still_open = known & ~closing
    seg_ip = is_ip[order[starts]]
    needed = np.where(seg_ip, thresholds[IP_KIND], thresholds[ACCOUNT_KIND])
    emitting = closing & (n >= needed)

    # the emitting segments, then the open ones, in one table: one gather of their keys
    at = np.concatenate([np.flatnonzero(emitting), np.flatnonzero(still_open)])
    tracked = _segment_table(rows, order[starts[at]], seg[starts[at]], first[at], last[at], n[at], lows[at], starts[at])
    emits = int(emitting.sum())
    closed = seg[starts[closing]]
    return Segments(order, seg, ts, len(starts), closed, tracked.slice(0, emits), tracked.slice(emits), tracked)


def _ranges(starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The positions ``start, start + 1, ..., start + length - 1`` of every run, end to end."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    out: npt.NDArray[np.int64] = np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lengths)
    return out


def _same_keys(rows: pl.DataFrame, keys: pl.DataFrame) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every pair (row of ``rows``, row of ``keys``) with the same ``kind`` and ``key``, as two
    position arrays (in no particular order).

    Why positions: the callers then pick times and bounds with numpy; a join carrying all the
    rows' columns, then filtered, sorted and selected in Polars, cost several times more."""
    # frames built from the two columns, not selected: a ``select`` is a query of its own
    left = pl.DataFrame([rows.get_column("kind"), rows.get_column("key")]).with_row_index("row")
    right = pl.DataFrame([keys.get_column("kind"), keys.get_column("key")]).with_row_index("at")
    pairs = left.join(right, on=["kind", "key"], how="inner")
    return pairs.get_column("row").to_numpy().astype(np.int64), pairs.get_column("at").to_numpy().astype(np.int64)


def _within(
    successes: pl.DataFrame, bursts: pl.DataFrame, firsts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> pl.DataFrame:
    """The ``successes`` (:data:`ROW_SCHEMA`) of each of ``bursts`` (``seg``, ``kind``, ``key``):
    those of its key at or after its ``firsts`` and at or before its ``ends``, with the burst's
    ``seg``, sorted by (``seg``, ``ts``, ``seq``); a success within two bursts of its key is in both."""
    if successes.height == 0:
        return pl.DataFrame(schema=_SEG_ROWS)
    row, burst = _same_keys(successes, bursts)
    ts = successes.get_column("ts").to_numpy()[row]
    inside = (ts >= firsts[burst]) & (ts <= ends[burst])
    row, burst, ts = row[inside], burst[inside], ts[inside]
    seg = bursts.get_column("seg").to_numpy()[burst]
    order = np.lexsort((successes.get_column("seq").to_numpy()[row], ts, seg))
    matched: pl.DataFrame = successes[row[order]]
    matched.insert_column(0, pl.Series("seg", seg[order], dtype=pl.Int64))
    return matched


def _recent(rows: pl.DataFrame, watermark: Mapping[str, int]) -> npt.NDArray[np.bool_]:
    """Per row, whether it is at or after its file's watermark (or its file has none), writable.

    The usual case, one file and no missing values, is two series comparisons: the ``select``
    of the general case is a query, paid on every batch."""
    stamps, paths = rows.get_column("ts"), rows.get_column("path")
    if len(watermark) == 1 and stamps.null_count() == 0 and paths.null_count() == 0:
        ((path, mark),) = watermark.items()
        one: npt.NDArray[np.bool_] = (stamps.to_numpy() >= mark) | (paths != path).to_numpy()
        return one
    recent = (pl.col("ts") >= file_watermark(watermark)).fill_null(True)
    keep: npt.NDArray[np.bool_] = rows.select(recent).to_series().to_numpy(writable=True)
    return keep


class BurstTracker:
    """Finds bursts of failures per key in event time, batch by batch, with bounded state.

    ``thresholds`` maps a key kind (:data:`IP_KIND`, :data:`ACCOUNT_KIND`) to the number of
    failures within one window a burst needs to be reported; times are in microseconds.
    """

    def __init__(
        self, *, window: int, lateness: int, thresholds: Mapping[str, int], exact_limit: int = EXACT_LIMIT
    ) -> None:
        self.window = window
        self.lateness = lateness
        self.thresholds = dict(thresholds)
        self.exact_limit = exact_limit
        self.max_seen: dict[str, int] = {}  # per input file: largest event time admitted so far
        self.seq = 0
        self.failures = empty_rows()
        self.successes = empty_rows()
        self.pending = PendingFailures(window=window, thresholds=self.thresholds)

    # -- feeding ------------------------------------------------------------------------------
    def update(self, frame: pl.DataFrame) -> ClosedBursts:
        """Admit one batch (:data:`INPUT_COLUMNS`, in stream order) and return bursts it closed."""
        n = frame.height
        if n == 0:
            return ClosedBursts.none()
        paths = frame.get_column("path")
        if paths.null_count():
            paths = paths.fill_null("")
            frame = frame.with_columns(paths)
        stamps = frame.get_column("ts")
        if stamps.null_count() == 0 and bool((paths == paths[0]).all()):  # one file (no hashing of the column)
            flagged, watermarks = self._admit_one_file(frame, stamps.to_numpy())
        else:
            flagged, watermarks = self._admit_files(frame)
        self.seq += n
        # only the columns kept are filtered, one by one: a filter of the whole flagged batch and
        # a ``select`` after it cost half as much again, and a frame's ``filter`` is a query
        is_failure = flagged.get_column("admitted") & (flagged.get_column("outcome") == "failure")
        events = pl.DataFrame([flagged.get_column(name).filter(is_failure) for name in PENDING_SCHEMA])
        if self.failures.height + 2 * events.height <= self.exact_limit and self.pending.settled(watermarks):
            # few failures held and none waiting: all of them are tracked exactly (see EXACT_LIMIT)
            hot = keyed(events)
            self.pending.sketches.clear()
        else:
            hot = self.pending.admit(events, self.failures, watermarks)
        failures = pl.concat([self.failures, hot], rechunk=True)  # one chunk: gathers from many are ~10x slower
        return self._advance(failures, flagged, watermarks)

    def _admit_files(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
        """``frame`` with ``seq``, ``admitted`` and each row's file watermark ``wm``; and the watermarks."""
        n = frame.height
        ts = pl.col("ts")
        # max timestamp of every row before this one in the same file (batch-independent)
        before = ts.cum_max().forward_fill().shift(1)
        if frame["path"].n_unique() > 1:
            before = before.over("path")
        if self.max_seen:
            before = pl.max_horizontal(before, file_watermark(self.max_seen))
        flagged = frame.with_columns(
            seq=pl.int_range(self.seq, self.seq + n, dtype=pl.Int64),
            admitted=ts.is_not_null() & (before.is_null() | (ts >= before - self.lateness)),
        )
        for path, batch_max in frame.group_by("path").agg(ts.max()).iter_rows():
            if batch_max is not None:
                self.max_seen[path] = max(self.max_seen.get(path, batch_max), batch_max)
        watermarks = {path: seen - self.lateness for path, seen in self.max_seen.items()}
        return flagged.with_columns(wm=file_watermark(watermarks)), watermarks

    def _admit_one_file(self, frame: pl.DataFrame, ts: npt.NDArray[np.int64]) -> tuple[pl.DataFrame, dict[str, int]]:
        """:meth:`_admit_files` for a batch from one file with every time set (the usual batch):
        a running maximum in numpy instead of a partitioned window expression."""
        path = str(frame.get_column("path")[0])
        seen = np.maximum.accumulate(ts)
        before = np.empty_like(seen)
        before[1:] = seen[:-1]
        known = self.max_seen.get(path)
        before[0] = ts[0] if known is None else known  # the first row of a new file is never late
        if known is not None:
            np.maximum(before, known, out=before)
        self.max_seen[path] = int(seen[-1]) if known is None else max(known, int(seen[-1]))
        watermarks = {name: mark - self.lateness for name, mark in self.max_seen.items()}
        n = frame.height
        # columns added as series: ``with_columns`` is a query, on every batch
        mark = pl.Series("wm", [watermarks[path]], dtype=pl.Int64).new_from_index(0, n)
        seq = pl.Series("seq", np.arange(self.seq, self.seq + n, dtype=np.int64))
        return frame.hstack([seq, pl.Series("admitted", ts >= before - self.lateness), mark]), watermarks

    def flush(self) -> ClosedBursts:
        """Close every open burst (end of input) and forget all state but the stream position."""
        out = self._advance(self.failures, None, None)
        self.pending.clear()
        return out

    # -- closing ------------------------------------------------------------------------------
    def _advance(
        self, failures: pl.DataFrame, new_successes: pl.DataFrame | None, watermark: Mapping[str, int] | None
    ) -> ClosedBursts:
        """Segment failures into bursts, emit the closed ones that qualify, keep the rest.

        ``new_successes`` is this batch (flagged rows with their file watermark ``wm``, not yet
        keyed) whose admitted successes are considered; ``watermark`` maps each file to its
        watermark, and None closes everything (finalize).
        """
        if failures.height == 0:  # fast path: nothing to segment, only recent successes to keep
            if new_successes is not None and watermark is not None:
                recent = keyed(new_successes.filter(_ADMITTED_SUCCESS & (pl.col("ts") >= pl.col("wm"))))
                self.successes = pl.concat([self.successes, recent], rechunk=True)  # see below
            self.successes = self._retain(self.successes, None, watermark)
            return ClosedBursts.none()
        window = self.window
        parts = segmented(failures, window, watermark, self.thresholds)
        emit, open_segs = parts.emit, parts.open
        successes = self.successes
        if new_successes is not None and new_successes.height:
            found = self._key_successes(new_successes, parts.tracked, watermark)
            if watermark is not None and self.pending.height:
                waiting = self._waiting_successes(new_successes)
                if waiting.height:  # rows keyed twice are kept once, where ``found`` has them
                    on = ["kind", "key", "seq"]
                    found = pl.concat([found, waiting.join(found, on=on, how="anti", maintain_order="left")])
            # one chunk: held successes were a chunk per batch since they arrived, and every
            # filter, gather and expression over them paid per chunk (40 chunks: 5x the cost)
            successes = pl.concat([successes, found], rechunk=True)
        bursts = self._emit(failures, parts, successes, emit) if emit.height else ClosedBursts.none()
        # per segment, the time before which its failures are dropped: all of a closed one's,
        # the lead-in of an open one (:meth:`_trim`)
        cut = np.full(parts.count + 1, np.iinfo(np.int64).min, dtype=np.int64)
        cut[parts.closed] = np.iinfo(np.int64).max
        if watermark is not None and open_segs.height:
            self._trim(parts, open_segs, cut)
        kept = parts.ts >= cut[parts.seg]
        if not kept.all():
            mask = np.empty(len(kept), dtype=np.bool_)
            mask[parts.order] = kept
            failures = filtered(failures, pl.Series(mask))
        self.failures = failures
        self.successes = self._retain(successes, open_segs, watermark)
        return bursts

    @staticmethod
    def _key_successes(new: pl.DataFrame, segs: pl.DataFrame, watermark: Mapping[str, int] | None) -> pl.DataFrame:
        """Key only the successes that can matter: those of bursts being emitted or still open
        (``segs``), and recent ones a late failure may yet precede. Most logins are successes of
        keys with no failures at all; filtering them before keying is what keeps the hot path cheap."""
        # a few hundred segments: plain Python sets cost less than the Polars calls did
        ips: set[str] = set()
        users: set[str] = set()
        for kind, key in zip(segs.get_column("kind").to_list(), segs.get_column("key").to_list(), strict=True):
            if kind == IP_KIND:
                ips.add(key)
            else:  # an account key is the service, the separator and the account name
                users.add(key.split(KEY_SEP, 1)[1])
        keep = pl.col("ip").is_in(pl.Series(sorted(ips), dtype=pl.String).implode()) | pl.col("user").is_in(
            pl.Series(sorted(users), dtype=pl.String).implode()
        )
        if watermark is not None:
            keep = keep | (pl.col("ts") >= pl.col("wm"))
        return keyed(new.filter(_ADMITTED_SUCCESS & keep))

    def _waiting_successes(self, new: pl.DataFrame) -> pl.DataFrame:
        """Keyed older-than-watermark successes of keys whose failures wait in the pending buffer:
        should such a key warm up, its burst may start before them."""
        old = new.filter(_ADMITTED_SUCCESS & (pl.col("ts") < pl.col("wm")).fill_null(False))
        if old.height == 0 or self.pending.height == 0:
            return empty_rows()
        ips, users = self.pending.names()
        old = old.filter(pl.col("ip").is_in(ips.implode()) | pl.col("user").is_in(users.implode()))
        return self.pending.waiting(keyed(old))

    def qualified_at(self, ts: npt.NDArray[np.int64], threshold: int) -> int | None:
        """Event time of the failure that first completes ``threshold`` failures within one window
        in the sorted chain ``ts`` (None if no window holds that many yet)."""
        left = np.searchsorted(ts, ts - self.window, side="left")
        hit = np.flatnonzero(np.arange(1, len(ts) + 1) - left >= threshold)
        return int(ts[hit[0]]) if hit.size else None

    def _trim(self, parts: Segments, open_segs: pl.DataFrame, cut: npt.NDArray[np.int64]) -> None:
        """Forget the failures of open chains that can no longer be part of a reported burst
        (by raising their segment's ``cut``, the time before which its failures are dropped).

        A burst is reported from one window before its chain first got warm (:func:`warm_level`),
        so in a chain that is not warm, failures older than the watermark minus one window are
        dropped: no failure still to come can make them part of a burst (whatever would warm the
        chain early enough would be older than the watermark, so it would already be here). In a
        warm chain, failures more than a window before it got warm are dropped likewise. Without
        this, a key failing every few minutes all day (one of millions in a flood) holds its day.
        Done on the open segments' columns in numpy: they are a few hundred rows, and each Polars
        filter on them cost more than all the arithmetic.
        """
        lead = self.window
        wm = open_segs.get_column("wm").to_numpy()  # open segments always have a watermark
        candidate = open_segs.get_column("first").to_numpy() < wm - lead
        if not candidate.any():
            return
        is_ip = (open_segs.get_column("kind") == IP_KIND).to_numpy()
        warm = np.where(is_ip, warm_level(self.thresholds[IP_KIND]), warm_level(self.thresholds[ACCOUNT_KIND]))
        seg, n = open_segs.get_column("seg").to_numpy(), open_segs.get_column("n").to_numpy()
        cold = candidate & (n < warm)
        cut[seg[cold]] = wm[cold] - lead
        start = open_segs.get_column("start").to_numpy()
        for i in np.flatnonzero(candidate & ~cold).tolist():
            q = self.qualified_at(parts.ts[start[i] : start[i] + n[i]], int(warm[i]))
            cut[seg[i]] = (int(wm[i]) if q is None else q) - lead

    def _emit(
        self, failures: pl.DataFrame, parts: Segments, successes: pl.DataFrame, emit: pl.DataFrame
    ) -> ClosedBursts:
        """Check the peak of each candidate burst and gather its successes, for all at once.

        A burst is reported from one window before its chain first got warm (:func:`warm_level`):
        a chain of failures a few minutes apart can run all day before it turns into guessing,
        and that quiet lead-in is neither evidence nor something to hold in memory. The bursts'
        failures are picked with numpy from the sorted positions, not by joining the candidates'
        tables: each Polars join costs a third of a millisecond or more, paid on every batch
        however small."""
        found = self._shapes(parts.ts, emit)
        if found.height == 0:
            return ClosedBursts.none()
        bursts = pl.DataFrame([found.get_column(name) for name in BURST_SCHEMA])  # not a query
        # ``first`` here is where the report starts, not the segment's first failure; the bursts
        # are the candidates that passed, in the same (``seg``) order
        kept = np.isin(emit.get_column("seg").to_numpy(), found.get_column("seg").to_numpy())
        starts, ns = emit.get_column("start").to_numpy()[kept], emit.get_column("n").to_numpy()[kept]
        firsts = found.get_column("first").to_numpy()
        at = _ranges(starts, ns)
        at = at[parts.ts[at] >= np.repeat(firsts, ns)]
        rows = failures[parts.order[at]]
        rows.insert_column(0, pl.Series("seg", parts.seg[at], dtype=pl.Int64))
        lasts = emit.get_column("last").to_numpy()[kept] + self.window
        return ClosedBursts(bursts, rows, _within(successes, found, firsts, lasts))

    def _shapes(self, ts_all: npt.NDArray[np.int64], emit: pl.DataFrame) -> pl.DataFrame:
        """Peak window and report start of every candidate burst, those reaching their threshold.

        The same as :func:`peak_in_window` and :meth:`qualified_at` per burst, for all bursts in
        one pass: a dictionary attack on a host closes thousands per batch, and a Python step per
        burst cost more than the counting. Bursts are laid end to end on one integer axis, each
        far enough from the next that no window reaches across."""
        window = self.window
        ns = emit["n"].to_numpy()
        is_ip = (emit.get_column("kind") == IP_KIND).to_numpy()
        threshold = np.where(is_ip, self.thresholds[IP_KIND], self.thresholds[ACCOUNT_KIND])
        offsets = np.cumsum(ns) - ns  # where each burst starts on the axis
        burst = np.repeat(np.arange(len(ns)), ns)
        idx = np.arange(len(burst))
        ts = ts_all[np.repeat(emit["start"].to_numpy() - offsets, ns) + idx]
        since = ts - ts[offsets][burst]  # time since the burst's first failure
        stride = int(since.max()) + window + 1
        if stride * len(ns) >= 1 << 62:  # bursts of years, by the thousand: never in practice
            return self._shapes_each(ts_all, emit)
        axis = burst * stride + since
        left = np.searchsorted(axis, axis - window, side="left")
        counts = idx + 1 - left
        peak = np.maximum.reduceat(counts, offsets)
        best = np.minimum.reduceat(np.where(counts == peak[burst], idx, len(idx)), offsets)
        warm = np.maximum(2, (threshold + 1) // 2)  # warm_level, vectorised
        warmed = np.minimum.reduceat(np.where(counts >= warm[burst], idx, len(idx)), offsets)
        keep = peak >= threshold
        # a burst that reached its threshold passed the warm level
        warmed = np.where(keep, warmed, offsets)
        first = np.searchsorted(axis, axis[warmed] - window, side="left")
        pick = np.flatnonzero(keep)
        picked = emit[pick]
        numbers = {"peak": peak[pick], "peak_start": ts[left[best[pick]]], "peak_end": ts[best[pick]]}
        return pl.DataFrame(  # from series: a ``select`` is a query of its own, on every batch
            [
                *(picked.get_column(name) for name in ("seg", "kind", "key")),
                *(pl.Series(name, values, dtype=pl.Int64) for name, values in numbers.items()),
                pl.Series("first", ts[first[pick]], dtype=pl.Int64),
            ]
        )

    def _shapes_each(self, ts_all: npt.NDArray[np.int64], emit: pl.DataFrame) -> pl.DataFrame:
        """:meth:`_shapes` one burst at a time (for bursts too long to lay end to end)."""
        window = self.window
        kept: list[tuple[int, str, str, int, int, int, int]] = []
        for kind, key, seg, start, n in emit.select("kind", "key", "seg", "start", "n").iter_rows():
            ts = ts_all[start : start + n]
            peak, peak_start, peak_end = peak_in_window(ts, window)
            if peak < self.thresholds[kind]:
                continue
            warm = self.qualified_at(ts, warm_level(self.thresholds[kind]))
            assert warm is not None  # a chain that reached its threshold passed the warm level
            first = int(ts[np.searchsorted(ts, warm - window, side="left")])
            kept.append((seg, kind, key, peak, peak_start, peak_end, first))
        return pl.DataFrame(kept, schema={**BURST_SCHEMA, "first": pl.Int64()}, orient="row")

    def _retain(
        self, successes: pl.DataFrame, open_segs: pl.DataFrame | None, watermark: Mapping[str, int] | None
    ) -> pl.DataFrame:
        """Successes that a future or still-open burst may yet include; drop the rest."""
        if watermark is None or successes.height == 0:
            return successes.clear() if watermark is None else successes
        keep = _recent(successes, watermark)
        if keep.all():
            return successes
        if self.pending.height:
            # successes of keys still waiting in the pending buffer stay: they may warm up yet
            keep |= self.pending.waiting_mask(successes).to_numpy()
        if open_segs is not None and open_segs.height:
            # and those at or after the start of an open segment of their key
            row, seg = _same_keys(successes, open_segs)
            ts = successes.get_column("ts").to_numpy()
            keep[row[ts[row] >= open_segs.get_column("first").to_numpy()[seg]]] = True
        return filtered(successes, pl.Series(keep))

    # -- checkpoint ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Column-oriented, JSON-ready state; timestamps stay integer microseconds."""
        return {
            "version": STATE_VERSION,
            "max_seen": self.max_seen,
            "seq": self.seq,
            "failures": self.failures.to_dict(as_series=False),
            "successes": self.successes.to_dict(as_series=False),
            "pending": self.pending.to_json(),
        }

    def load_json(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported burst state version {state.get('version')!r}")
        self.max_seen = {str(path): int(seen) for path, seen in state["max_seen"].items()}
        self.seq = int(state["seq"])
        self.failures = pl.DataFrame(state["failures"], schema=ROW_SCHEMA)
        self.successes = pl.DataFrame(state["successes"], schema=ROW_SCHEMA)
        self.pending.load_json(state["pending"])

    @property
    def open_keys(self) -> int:
        """How many keys hold open failures (for tests and metrics)."""
        return int(self.failures.select(pl.struct("kind", "key").n_unique()).item()) if self.failures.height else 0
