"""Tumbling event-time windows of login rows, with a sketch that keeps one-off keys out of state.

Why tumbling windows: spraying and stuffing are judged on what a key did over a fixed stretch of
time (distinct accounts, distinct sources, failure ratio), and epoch-aligned windows give every
finding a stable identity ``(key, window start)`` whatever the batching or restarts.

Why a promotion sketch: under a flood of millions of addresses each failing once, holding every
row until its window closes would grow with the number of keys. With ``promote_at`` set, a
count-min sketch per open window counts failures per key; a key's rows are *held* (kept for the
finding's evidence) only once its estimate reaches ``promote_at``. Rows before that wait in a
short *pending* buffer (``horizon``) and are pulled into state when their key is promoted, so
the first failures still appear as evidence; the rest expire with the buffer. Memory is then the
sketches (fixed) plus the pending buffer (event rate x horizon) plus the promoted keys' rows.

Determinism: a pending row is pulled when it lies within ``horizon`` of the row that promotes
its key, and the buffer drops rows only once they are older than ``watermark - horizon``; since
an admitted row is never older than the watermark, the pulled set does not depend on batching.
The sketch over-estimates only, so a key that truly reached ``promote_at`` is always promoted;
only hash collisions (rare at the default width) can promote a key early.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.core.detector import Detector, JSONState
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, EventBatch
from watchhouse.core.findings import Finding
from watchhouse.detectors.accounts.eventtime import EventClock, HeldRows, watermark_of
from watchhouse.detectors.accounts.sketches import CountMinSketch, GrowingCountMin, hash_keys

#: columns every windowed detector hands to :meth:`TumblingWindows.update`
INPUT_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Int64(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
    "key": pl.String(),
    "ip": pl.String(),
    "user": pl.String(),
    "outcome": pl.String(),
    "reason": pl.String(),
}
ROW_SCHEMA: dict[str, pl.DataType] = {"win": pl.Int64(), "due": pl.Int64(), "seq": pl.Int64(), **INPUT_SCHEMA}
#: a pending row is a failure not yet promoted: ``due`` and ``outcome`` are implied, and so is
#: ``ip`` when the key is the address; a flood fills the pending buffer, so every byte counts
PENDING_SCHEMA: dict[str, pl.DataType] = {
    name: dtype for name, dtype in ROW_SCHEMA.items() if name not in ("due", "outcome", "ip")
}
STATE_VERSION = 2


def login_rows(batch: EventBatch, key: str) -> pl.DataFrame:
    """The login attempts of an ``auth`` batch as :class:`TumblingWindows` takes them, keyed by ``key``.

    Only decided attempts of a named account count (a failure or a success with ``user.name``);
    ``key`` is the column a detector groups by (the source address, the user agent ...).
    """
    frame = batch.to_polars()
    frame = frame.filter(pl.col("event.outcome").is_in(["failure", "success"]) & pl.col("user.name").is_not_null())
    return frame.select(
        pl.col(TIMESTAMP_FIELD).cast(pl.Int64).alias("ts"),
        pl.col(PATH_FIELD).alias("path"),
        pl.col(LINE_FIELD).alias("line"),
        pl.col(OFFSET_FIELD).alias("offset"),
        pl.col(key).alias("key"),
        pl.col("source.ip").alias("ip"),
        pl.col("user.name").alias("user"),
        pl.col("event.outcome").alias("outcome"),
        pl.col("event.reason").alias("reason"),
    )


def _by_window(wins: npt.NDArray[np.int64]) -> Iterator[tuple[int, npt.NDArray[np.intp]]]:
    """Each distinct window start with the row positions in it, in ascending window order
    (positions keep their stream order within a window)."""
    order = np.argsort(wins, kind="stable")
    ordered = wins[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        yield int(ordered[start]), order[start:end]


class TumblingWindows:
    """Collects admitted rows per ``(window, key)`` and releases whole windows once closed."""

    def __init__(
        self,
        *,
        window: int,
        lateness: int,
        promote_at: int | None = None,
        horizon: int = 0,
        width_bits: int = 18,
        small: bool = False,
        success_width_bits: int | None = None,
        depth: int = 4,
        key_is_ip: bool = False,
    ) -> None:
        self.window = window
        self.key_is_ip = key_is_ip
        self.small = small
        self.depth = depth
        self.success_width_bits = width_bits if success_width_bits is None else success_width_bits
        self.promote_at = promote_at
        self.horizon = horizon
        self.width_bits = width_bits
        self.clock = EventClock(lateness)
        self.held = HeldRows(ROW_SCHEMA, group="win")
        pending = PENDING_SCHEMA if key_is_ip else {**PENDING_SCHEMA, "ip": pl.String()}
        self.pending = HeldRows(pending)
        # failures and successes per key, one sketch per open window (growing ones when ``small``)
        self.sketches: dict[int, CountMinSketch | GrowingCountMin] = {}
        self.success_sketches: dict[int, CountMinSketch | GrowingCountMin] = {}

    def update(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Admit a batch (:data:`INPUT_SCHEMA`) and return the rows of windows it closed."""
        if frame.height == 0:
            return pl.DataFrame(schema=ROW_SCHEMA)
        rows = self.clock.admit(frame).with_columns(win=(pl.col("ts") // self.window) * self.window)
        rows = rows.with_columns(due=pl.col("win") + self.window).select(list(ROW_SCHEMA))
        watermarks = self.clock.watermarks
        if self.promote_at is None:
            self.held.add(rows.filter(pl.col("key").is_not_null()))
        else:
            self._promote(rows.filter(pl.col("key").is_not_null()), watermarks)
        return self._release(watermarks)

    def flush(self) -> pl.DataFrame:
        self.pending.release(None)
        out = self._with_successes(self.held.release(None))
        self.sketches.clear()
        self.success_sketches.clear()
        return out

    def _release(self, watermarks: Mapping[str, int]) -> pl.DataFrame:
        out = self._with_successes(self.held.release(watermarks))
        if self.sketches and watermarks:
            slowest = min(watermarks.values())
            for win in [w for w in self.sketches if w + self.window < slowest - self.horizon]:
                del self.sketches[win]
                self.success_sketches.pop(win, None)
        return out

    def _with_successes(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Add ``successes_seen``: successes of the row's key in its window, as the sketch saw them
        (an over-estimate; it includes successes before the key was promoted, which are not held)."""
        if self.promote_at is None or rows.height == 0:
            return rows.with_columns(successes_seen=pl.lit(None, dtype=pl.Int64))
        hashes = hash_keys(rows["key"])
        seen = np.zeros(rows.height, dtype=np.int64)
        for win, idx in _by_window(rows["win"].to_numpy()):
            sketch = self.success_sketches.get(win)
            if sketch is not None:
                seen[idx] = sketch.estimate(hashes[idx])
        return rows.with_columns(successes_seen=pl.Series(seen, dtype=pl.Int64))

    def _promote(self, rows: pl.DataFrame, watermarks: Mapping[str, int]) -> None:
        """Count the batch into the per-window sketches and hold the rows of keys that reached
        ``promote_at``. Polars work is done once over the whole batch; only the sketch lookups
        run per window (a batch of a slow day spans hundreds of windows)."""
        assert self.promote_at is not None
        if rows.height == 0:
            return
        failures = pl.col("outcome") == "failure"
        hashes = hash_keys(rows["key"])
        is_failure = rows["outcome"].eq_missing("failure").to_numpy()
        is_success = rows["outcome"].eq_missing("success").to_numpy()
        before = np.zeros(rows.height, dtype=np.int64)
        for win, idx in _by_window(rows["win"].to_numpy()):
            sketch = self.sketches.get(win) or self.sketches.setdefault(win, self._sketch(self.width_bits))
            wins = self.success_sketches.get(win) or self.success_sketches.setdefault(
                win, self._sketch(self.success_width_bits)
            )
            h = hashes[idx]
            before[idx] = sketch.estimate(h)
            sketch.add(h[is_failure[idx]])
            wins.add(h[is_success[idx]])
        batch = rows.with_columns(
            est=pl.Series(before) + failures.fill_null(False).cast(pl.Int64).cum_sum().over("win", "key")
        )
        promoted = pl.col("est") >= self.promote_at
        newly = batch.filter(promoted).group_by("win", "key").agg(since=pl.col("ts").min() - self.horizon)
        self.pending.add(batch.filter(~promoted & failures))
        if newly.height and self.pending.chunks:
            joined = self.pending.rows.join(newly, on=["win", "key"], how="left")
            pull = (pl.col("ts") >= pl.col("since")).fill_null(False)
            self.held.add(self._unpack(joined.filter(pull)))
            self.pending.rows = joined.filter(~pull).select(list(self.pending.schema))
        self.held.add(batch.filter(promoted))
        if self.pending.chunks and watermarks:
            self.pending.drop(pl.col("ts") < watermark_of(watermarks) - self.horizon)

    def _sketch(self, bits: int) -> CountMinSketch | GrowingCountMin:
        return GrowingCountMin(bits, self.depth) if self.small else CountMinSketch(bits, self.depth)

    def _unpack(self, pending: pl.DataFrame) -> pl.DataFrame:
        """Pending rows back in :data:`ROW_SCHEMA` (they are failures, due when their window ends)."""
        return pending.with_columns(
            due=pl.col("win") + self.window,
            outcome=pl.lit("failure"),
            **({"ip": pl.col("key")} if self.key_is_ip else {}),
        )

    @property
    def held_rows(self) -> int:
        return self.held.height + self.pending.height

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "clock": self.clock.to_json(),
            "held": self.held.to_json(),
            "pending": self.pending.to_json(),
            "sketches": {str(w): s.to_json() for w, s in self.sketches.items()},
            "success_sketches": {str(w): s.to_json() for w, s in self.success_sketches.items()},
        }

    def load_json(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported window state version {state.get('version')!r}")
        self.clock.load_json(state["clock"])
        self.held.load_json(state["held"])
        self.pending.load_json(state["pending"])
        load = GrowingCountMin.from_json if self.small else CountMinSketch.from_json
        self.sketches = {int(w): load(s) for w, s in state["sketches"].items()}
        self.success_sketches = {int(w): load(s) for w, s in state["success_sketches"].items()}


class WindowedLoginDetector(Detector):
    """The detector protocol for judges of closed :class:`TumblingWindows` of login attempts.

    Subclasses say which column keys a window (:attr:`KEY_COLUMN`), build their windows and judge
    closed ones; the protocol plumbing (feeding batches, flushing, checkpointing the windows and
    the memory of which keys fired in which window) is the same for all of them.
    """

    #: the column a window is keyed by (e.g. ``source.ip``)
    KEY_COLUMN: ClassVar[str]
    #: name of the fired-window memory in checkpoints (kept per detector: states are versioned)
    FIRED_STATE: ClassVar[str]

    _windows: TumblingWindows
    _fired: dict[str, int]  # key -> start of the last window it fired in

    @abstractmethod
    def _new_windows(self) -> TumblingWindows: ...

    @abstractmethod
    def _judge(self, rows: pl.DataFrame) -> list[Finding]: ...

    def detect(self, batch: EventBatch) -> list[Finding]:
        if batch.num_rows == 0:
            return []
        return self._judge(self._windows.update(login_rows(batch, self.KEY_COLUMN)))

    def finalize(self) -> list[Finding]:
        out = self._judge(self._windows.flush())
        self._fired.clear()
        return out

    def checkpoint(self) -> JSONState:
        return {"windows": self._windows.to_json(), self.FIRED_STATE: dict(self._fired)}

    def restore(self, state: JSONState) -> None:
        self._windows = self._new_windows()
        self._fired = {}
        if state:
            self._windows.load_json(state["windows"])
            self._fired = {str(k): int(v) for k, v in state[self.FIRED_STATE].items()}

    @property
    def held_rows(self) -> int:
        return self._windows.held_rows
