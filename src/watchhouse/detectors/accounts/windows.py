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
* Successes are kept while they could still fall into some burst's range
  ``[first, last + window]``: those at or after the watermark (a later out-of-order failure may
  still precede them) and those of keys with an open burst that starts no later than them.

State lives in two Polars frames (open failures, retained successes) so the hot path stays
vectorised; Python loops only over bursts that close with at least ``threshold`` failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

IP_KIND = "ip"
ACCOUNT_KIND = "account"
#: joins service and account name in an account key; cannot occur in either
KEY_SEP = "\x1f"

#: columns of an input frame handed to :meth:`BurstTracker.update`
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

#: columns of the tracked rows (failures and successes), one row per (key kind, event)
ROW_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "key": pl.String(),
    "ts": pl.Int64(),
    "seq": pl.Int64(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
    "ip": pl.String(),
    "user": pl.String(),
    "service": pl.String(),
}
_ROW_COLUMNS = list(ROW_SCHEMA)
_SORT = ["kind", "key", "ts", "seq"]
_ADMITTED_SUCCESS = pl.col("admitted") & (pl.col("outcome") == "success")
STATE_VERSION = 2


def _watermark(watermarks: Mapping[str, int]) -> pl.Expr:
    """Each row's file watermark (microseconds); null for a file not seen yet."""
    if not watermarks:
        return pl.lit(None, dtype=pl.Int64)
    return pl.col("path").fill_null("").replace_strict(dict(watermarks), default=None, return_dtype=pl.Int64)


def empty_rows() -> pl.DataFrame:
    return pl.DataFrame(schema=ROW_SCHEMA)


@dataclass(frozen=True)
class ClosedBurst:
    """A finished burst that reached its threshold, with everything needed to report it."""

    kind: str
    key: str
    failures: pl.DataFrame  # ROW_SCHEMA, sorted by (ts, seq)
    successes: pl.DataFrame  # ROW_SCHEMA, sorted by (ts, seq), within [first, last + window]
    peak: int  # most failures within any window
    peak_start: int  # ts of the first failure of the densest window
    peak_end: int  # ts of the last failure of the densest window


def peak_in_window(ts: np.ndarray[Any, np.dtype[np.int64]], window: int) -> tuple[int, int, int]:
    """Most events within any closed interval of length ``window`` of sorted ``ts``.

    Returns ``(count, start_ts, end_ts)``; one binary search per event, all vectorised.
    """
    left = np.searchsorted(ts, ts - window, side="left")
    counts = np.arange(1, len(ts) + 1) - left
    best = int(np.argmax(counts))
    return int(counts[best]), int(ts[left[best]]), int(ts[best])


def _keyed(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per key an event counts for: its source address and its (service, account)."""
    by_ip = rows.filter(pl.col("ip").is_not_null()).with_columns(kind=pl.lit(IP_KIND), key=pl.col("ip"))
    by_account = rows.filter(pl.col("user").is_not_null()).with_columns(
        kind=pl.lit(ACCOUNT_KIND),
        key=pl.concat_str([pl.col("service").fill_null(""), pl.lit(KEY_SEP), pl.col("user")]),
    )
    return pl.concat([by_ip.select(_ROW_COLUMNS), by_account.select(_ROW_COLUMNS)])


class BurstTracker:
    """Finds bursts of failures per key in event time, batch by batch, with bounded state.

    ``thresholds`` maps a key kind (:data:`IP_KIND`, :data:`ACCOUNT_KIND`) to the number of
    failures within one window a burst needs to be reported; times are in microseconds.
    """

    def __init__(self, *, window: int, lateness: int, thresholds: Mapping[str, int]) -> None:
        self.window = window
        self.lateness = lateness
        self.thresholds = dict(thresholds)
        self.max_seen: dict[str, int] = {}  # per input file: largest event time admitted so far
        self.seq = 0
        self.failures = empty_rows()
        self.successes = empty_rows()

    # -- feeding ------------------------------------------------------------------------------
    def update(self, frame: pl.DataFrame) -> list[ClosedBurst]:
        """Admit one batch (:data:`INPUT_COLUMNS`, in stream order) and return bursts it closed."""
        n = frame.height
        if n == 0:
            return []
        ts = pl.col("ts")
        frame = frame.with_columns(pl.col("path").fill_null(""))
        # max timestamp of every row before this one in the same file (batch-independent)
        before = ts.cum_max().forward_fill().shift(1).over("path")
        if self.max_seen:
            before = pl.max_horizontal(before, _watermark(self.max_seen))
        flagged = frame.with_columns(
            seq=pl.int_range(self.seq, self.seq + n, dtype=pl.Int64),
            admitted=ts.is_not_null() & (before.is_null() | (ts >= before - self.lateness)),
        )
        self.seq += n
        for path, batch_max in frame.group_by("path").agg(ts.max()).iter_rows():
            if batch_max is not None:
                self.max_seen[path] = max(self.max_seen.get(path, batch_max), batch_max)
        watermarks = {path: seen - self.lateness for path, seen in self.max_seen.items()}
        new_failures = flagged.filter(pl.col("admitted") & (pl.col("outcome") == "failure"))
        failures = pl.concat([self.failures, _keyed(new_failures)])
        return self._advance(failures, flagged, watermarks)

    def flush(self) -> list[ClosedBurst]:
        """Close every open burst (end of input) and forget all state but the stream position."""
        return self._advance(self.failures, None, None)

    # -- closing ------------------------------------------------------------------------------
    def _advance(
        self, failures: pl.DataFrame, new_successes: pl.DataFrame | None, watermark: Mapping[str, int] | None
    ) -> list[ClosedBurst]:
        """Segment failures into bursts, emit the closed ones that qualify, keep the rest.

        ``new_successes`` is this batch (flagged rows, not yet keyed) whose admitted successes are
        considered; ``watermark`` maps each file to its watermark, and None closes everything
        (finalize).
        """
        if failures.height == 0:  # fast path: nothing to segment, only recent successes to keep
            if new_successes is not None and watermark is not None:
                recent = _keyed(new_successes.filter(_ADMITTED_SUCCESS & (pl.col("ts") >= _watermark(watermark))))
                self.successes = pl.concat([self.successes, recent])
            self.successes = self._retain(self.successes, None, watermark)
            return []
        window = self.window
        failures = failures.sort(_SORT).with_columns(
            seg=(
                (pl.col("kind") != pl.col("kind").shift(1))
                | (pl.col("key") != pl.col("key").shift(1))
                | ((pl.col("ts") - pl.col("ts").shift(1)) > window)
            )
            .fill_null(True)
            .cum_sum(),
            wm=pl.lit(None, dtype=pl.Int64) if watermark is None else _watermark(watermark),
        )
        segs = failures.group_by("seg", maintain_order=True).agg(
            pl.col("kind").first(),
            pl.col("key").first(),
            first=pl.col("ts").first(),
            last=pl.col("ts").last(),
            n=pl.len().cast(pl.Int64),
            wm=pl.col("wm").min(),  # the slowest contributing file decides when the burst is over
        )
        # segments are contiguous in sorted order: each one's row offset is the sum of those before
        segs = segs.with_columns(start=pl.col("n").cum_sum() - pl.col("n"))
        closing = pl.lit(True) if watermark is None else (pl.col("last") + window) < pl.col("wm")
        threshold = pl.col("kind").replace_strict(self.thresholds, return_dtype=pl.Int64)
        closed = segs.filter(closing)
        emit = closed.filter(pl.col("n") >= threshold)
        open_segs = segs.filter(~closing)
        successes = self.successes
        if new_successes is not None and new_successes.height:
            successes = pl.concat([successes, self._key_successes(new_successes, failures, emit, open_segs, watermark)])
        bursts = self._emit(failures, successes, emit) if emit.height else []
        if closed.height:
            failures = failures.filter(~pl.col("seg").is_in(closed["seg"].implode()))
        self.failures = failures.drop("seg", "wm")
        self.successes = self._retain(successes, open_segs, watermark)
        return bursts

    @staticmethod
    def _key_successes(
        new: pl.DataFrame,
        failures: pl.DataFrame,
        emit: pl.DataFrame,
        open_segs: pl.DataFrame,
        watermark: Mapping[str, int] | None,
    ) -> pl.DataFrame:
        """Key only the successes that can matter: those of bursts being emitted or still open,
        and recent ones a late failure may yet precede. Most logins are successes of keys with no
        failures at all; filtering them before keying is what keeps the hot path cheap."""
        wanted = pl.concat([emit["seg"], open_segs["seg"]])
        rows = failures.filter(pl.col("seg").is_in(wanted.implode()))
        ips = rows.filter(pl.col("kind") == IP_KIND)["key"].unique()
        users = rows.filter(pl.col("kind") == ACCOUNT_KIND)["user"].unique()
        keep = pl.col("ip").is_in(ips.implode()) | pl.col("user").is_in(users.implode())
        if watermark is not None:
            keep = keep | (pl.col("ts") >= _watermark(watermark))
        return _keyed(new.filter(_ADMITTED_SUCCESS & keep))

    def _emit(self, failures: pl.DataFrame, successes: pl.DataFrame, emit: pl.DataFrame) -> list[ClosedBurst]:
        """Check the peak of each candidate burst and gather its successes (few candidates)."""
        ts_all = failures["ts"].to_numpy()
        window = self.window
        ranges = emit.select("kind", "key", "seg", "first", "last")
        matched = (
            successes.join(ranges, on=["kind", "key"], how="inner")
            .filter(pl.col("ts").is_between(pl.col("first"), pl.col("last") + window))
            .sort(["seg", "ts", "seq"])
        )
        by_seg = {int(k[0]): g.select(_ROW_COLUMNS) for k, g in matched.group_by("seg", maintain_order=True)}
        out: list[ClosedBurst] = []
        for kind, key, seg, start, n in emit.select("kind", "key", "seg", "start", "n").iter_rows():
            threshold = self.thresholds[kind]
            ts = ts_all[start : start + n]
            peak, peak_start, peak_end = peak_in_window(ts, window)
            if peak < threshold:
                continue
            out.append(
                ClosedBurst(
                    kind=kind,
                    key=key,
                    failures=failures.slice(start, n).select(_ROW_COLUMNS),
                    successes=by_seg.get(int(seg), empty_rows()),
                    peak=peak,
                    peak_start=peak_start,
                    peak_end=peak_end,
                )
            )
        return out

    def _retain(
        self, successes: pl.DataFrame, open_segs: pl.DataFrame | None, watermark: Mapping[str, int] | None
    ) -> pl.DataFrame:
        """Successes that a future or still-open burst may yet include; drop the rest."""
        if watermark is None or successes.height == 0:
            return successes.clear() if watermark is None else successes
        keep = (pl.col("ts") >= _watermark(watermark)).fill_null(True)
        if open_segs is not None and open_segs.height:
            starts = open_segs.group_by("kind", "key").agg(open_first=pl.col("first").min())
            joined = successes.join(starts, on=["kind", "key"], how="left")
            return joined.filter(keep | (pl.col("ts") >= pl.col("open_first"))).select(_ROW_COLUMNS)
        return successes.filter(keep)

    # -- checkpoint ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Column-oriented, JSON-ready state; timestamps stay integer microseconds."""
        return {
            "version": STATE_VERSION,
            "max_seen": self.max_seen,
            "seq": self.seq,
            "failures": self.failures.to_dict(as_series=False),
            "successes": self.successes.to_dict(as_series=False),
        }

    def load_json(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported burst state version {state.get('version')!r}")
        self.max_seen = {str(path): int(seen) for path, seen in state["max_seen"].items()}
        self.seq = int(state["seq"])
        self.failures = pl.DataFrame(state["failures"], schema=ROW_SCHEMA)
        self.successes = pl.DataFrame(state["successes"], schema=ROW_SCHEMA)

    @property
    def open_keys(self) -> int:
        """How many keys hold open failures (for tests and metrics)."""
        return int(self.failures.select(pl.struct("kind", "key").n_unique()).item()) if self.failures.height else 0
