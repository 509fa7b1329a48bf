"""Bursts of activity per key, in event time: the window shape of the fraud and data-theft detectors.

Why bursts and not only fixed windows: card testing, scam campaigns and record scraping are runs
of activity by one key (an account, an address, a sender, a staff member) that start and stop
whenever the attacker likes. Epoch-aligned windows of an hour cut a 40-minute run in two about
two times in three, and each half may then fall under a threshold. A burst here is a maximal run
of one key's rows whose consecutive gaps are at most ``gap``; a run that goes on for longer than
``span`` is cut at epoch-aligned ``span`` boundaries, so a key with continuous traffic (a busy
merchant) still gets judged, and its held rows stay bounded by the event rate times ``span``.
Setting ``gap >= span`` gives plain tumbling windows of ``span``.

Determinism: rows come through the shared :class:`~watchhouse.detectors.accounts.eventtime.EventClock`
(per-file watermarks, late rows ignored), and a burst is released only when its file's watermark
shows that no admitted row can still join it (past its last row plus ``gap``, or past the end of
its ``span`` segment). Which rows form a burst then depends on the input only, never on how it was
cut into batches or where a runner restarted from a checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, EventBatch
from watchhouse.detectors.accounts.eventtime import EventClock, watermark_of

STATE_VERSION = 1

#: columns every held row has, whatever the detector adds
BASE_SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Int64(),
    "seq": pl.Int64(),
    "path": pl.String(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
    "key": pl.String(),
}


def base_rows(batch: EventBatch, columns: Mapping[str, str]) -> pl.DataFrame:
    """The batch as a narrow frame: time in microseconds, provenance, and ``columns`` renamed
    (event field -> short name), in input order."""
    frame = batch.to_polars()
    return frame.select(
        pl.col(TIMESTAMP_FIELD).dt.epoch("us").alias("ts"),
        pl.col(PATH_FIELD).alias("path"),
        pl.col(LINE_FIELD).alias("line"),
        pl.col(OFFSET_FIELD).alias("offset"),
        *(pl.col(field).alias(short) for field, short in columns.items()),
    )


class BurstSessions:
    """Holds rows per ``key`` until their burst is complete, then releases the burst whole.

    Released rows carry ``seg`` (the ``span`` segment) and ``burst`` (the run within it, per key);
    ``(key, seg, burst)`` names one burst.
    """

    def __init__(self, schema: Mapping[str, pl.DataType], *, gap: int, span: int, lateness: int) -> None:
        if gap <= 0 or span <= 0 or lateness < 0:
            raise ValueError("gap and span must be positive, lateness not negative")
        self.schema: dict[str, pl.DataType] = {**BASE_SCHEMA, **schema}
        self.gap = gap
        self.span = span
        self.clock = EventClock(lateness)
        self.held = pl.DataFrame(schema=self.schema)

    @property
    def held_rows(self) -> int:
        return int(self.held.height)

    def update(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Admit ``rows`` (in stream order, with ``ts``, ``path``, ``line``, ``offset``, ``key`` and the
        detector's columns; rows without a key are only clocked) and return the bursts now complete."""
        if rows.height == 0:
            return self._empty_released()
        admitted = self.clock.admit(rows).filter(pl.col("key").is_not_null())
        if admitted.height:
            fresh = admitted.select(list(self.schema)).cast(self.schema)  # type: ignore[arg-type]
            self.held = pl.concat([self.held, fresh]) if self.held.height else fresh
        return self._release(self.clock.watermarks)

    def flush(self) -> pl.DataFrame:
        """Every held burst, complete or not (end of input)."""
        return self._release(None)

    def _empty_released(self) -> pl.DataFrame:
        return pl.DataFrame(schema={**self.schema, "seg": pl.Int64(), "burst": pl.UInt32()})

    def _sessionise(self, frame: pl.DataFrame) -> pl.DataFrame:
        ts = pl.col("ts")
        ordered = frame.sort("key", "ts", "seq").with_columns(seg=ts // self.span)
        fresh = ((ts - ts.shift(1)) > self.gap).fill_null(True).over("key", "seg")
        return ordered.with_columns(burst=fresh.cast(pl.UInt32).cum_sum().over("key", "seg"))

    def _release(self, watermarks: Mapping[str, int] | None) -> pl.DataFrame:
        if self.held.height == 0:
            return self._empty_released()
        bursts = self._sessionise(self.held)
        if watermarks is None:
            self.held = pl.DataFrame(schema=self.schema)
            return bursts
        group = ["key", "seg", "burst"]
        mark = watermark_of(watermarks).min().over(group)
        last = pl.col("ts").max().over(group)
        done = ((mark > last + self.gap) | (mark >= (pl.col("seg") + 1) * self.span)).fill_null(False)
        flagged = bursts.with_columns(done=done)
        self.held = flagged.filter(~pl.col("done")).select(list(self.schema))
        return flagged.filter(pl.col("done")).drop("done")

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "clock": self.clock.to_json(), "held": self.held.to_dict(as_series=False)}

    def load_json(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported burst state version {state.get('version')!r}")
        self.clock.load_json(state["clock"])
        self.held = pl.DataFrame(dict(state["held"]), schema=self.schema)
