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

from collections.abc import Mapping
from typing import Any

import polars as pl

from watchhouse.detectors.accounts.eventtime import EventClock, HeldRows, watermark_of
from watchhouse.detectors.accounts.sketches import CountMinSketch, hash_keys

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
STATE_VERSION = 1


class TumblingWindows:
    """Collects admitted rows per ``(window, key)`` and releases whole windows once closed."""

    def __init__(
        self, *, window: int, lateness: int, promote_at: int | None = None, horizon: int = 0, width_bits: int = 18
    ) -> None:
        self.window = window
        self.promote_at = promote_at
        self.horizon = horizon
        self.width_bits = width_bits
        self.clock = EventClock(lateness)
        self.held = HeldRows(ROW_SCHEMA, group="win")
        self.pending = HeldRows(ROW_SCHEMA)
        self.sketches: dict[int, CountMinSketch] = {}  # failures per key, one per open window
        self.success_sketches: dict[int, CountMinSketch] = {}  # successes per key, ditto

    def update(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Admit a batch (:data:`INPUT_SCHEMA`) and return the rows of windows it closed."""
        if frame.height == 0:
            return self.held.rows.clear()
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
        parts = []
        for (win,), part in rows.group_by("win", maintain_order=True):
            sketch = self.success_sketches.get(int(win))
            seen = sketch.estimate(hash_keys(part["key"])) if sketch is not None else [0] * part.height
            parts.append(part.with_columns(successes_seen=pl.Series(seen, dtype=pl.Int64)))
        return pl.concat(parts)

    def _promote(self, rows: pl.DataFrame, watermarks: Mapping[str, int]) -> None:
        assert self.promote_at is not None
        failures = pl.col("outcome") == "failure"
        scored: list[pl.DataFrame] = []
        for (win,), part in rows.group_by("win", maintain_order=True):
            sketch = self.sketches.setdefault(int(win), CountMinSketch(self.width_bits))
            hashes = hash_keys(part["key"])
            before = sketch.estimate(hashes)
            sketch.add(hashes[part["outcome"].eq_missing("failure").to_numpy()])
            wins = self.success_sketches.setdefault(int(win), CountMinSketch(self.width_bits))
            wins.add(hashes[part["outcome"].eq_missing("success").to_numpy()])
            scored.append(
                part.with_columns(
                    est=pl.Series(before) + failures.fill_null(False).cast(pl.Int64).cum_sum().over("key")
                )
            )
        if not scored:
            return
        batch = pl.concat(scored)
        promoted = pl.col("est") >= self.promote_at
        newly = batch.filter(promoted).group_by("win", "key").agg(since=pl.col("ts").min() - self.horizon)
        self.pending.add(batch.filter(~promoted & failures))
        if newly.height:
            joined = self.pending.rows.join(newly, on=["win", "key"], how="left")
            pull = (pl.col("ts") >= pl.col("since")).fill_null(False)
            self.held.add(joined.filter(pull))
            self.pending.rows = joined.filter(~pull).select(list(ROW_SCHEMA))
        self.held.add(batch.filter(promoted))
        if self.pending.rows.height and watermarks:
            expired = (pl.col("ts") < watermark_of(watermarks) - self.horizon).fill_null(False)
            self.pending.rows = self.pending.rows.filter(~expired)

    @property
    def held_rows(self) -> int:
        return self.held.rows.height + self.pending.rows.height

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
        self.sketches = {int(w): CountMinSketch.from_json(s) for w, s in state["sketches"].items()}
        self.success_sketches = {int(w): CountMinSketch.from_json(s) for w, s in state["success_sketches"].items()}
