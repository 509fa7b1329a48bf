"""Event time for the windowed account detectors: per-file watermarks, lateness, held rows.

Why the clock comes from the events and not the wall: a scan of last week's logs and a live tail
must give the same alerts, and a restart must not change them. Each input file is its own
event-time stream (files are read one after another, so one file's afternoon must not make the
next file's morning look late). A row older than its file's watermark (the largest timestamp
seen before it in that file, minus the allowed lateness) is *late* and ignored; the test depends
only on the rows before it, never on how the input was cut into batches.

Detectors hold the rows they still need in a :class:`HeldRows` frame and let go of them once
the watermark of their file passes the row's ``due`` time: no admitted row can then change what
they mean. That is the "keyed window expiry" which keeps state bounded by the event rate times
the window, not by the number of keys ever seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

STATE_VERSION = 1


def watermark_of(watermarks: Mapping[str, int]) -> pl.Expr:
    """Each row's file watermark (microseconds; null for a file with no admitted row yet)."""
    if not watermarks:
        return pl.lit(None, dtype=pl.Int64)
    return pl.col("path").replace_strict(dict(watermarks), default=None, return_dtype=pl.Int64)


class EventClock:
    """Numbers rows in stream order and decides which are late, file by file."""

    def __init__(self, lateness: int) -> None:
        self.lateness = lateness
        self.max_seen: dict[str, int] = {}
        self.seq = 0

    def admit(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The admitted rows of ``frame`` (needs ``ts`` and ``path``), with a stream ``seq``."""
        n = frame.height
        ts = pl.col("ts")
        frame = frame.with_columns(pl.col("path").fill_null(""))
        before = ts.cum_max().forward_fill().shift(1).over("path")
        if self.max_seen:
            before = pl.max_horizontal(before, watermark_of(self.max_seen))
        flagged = frame.with_columns(
            seq=pl.int_range(self.seq, self.seq + n, dtype=pl.Int64),
            admitted=ts.is_not_null() & (before.is_null() | (ts >= before - self.lateness)),
        )
        self.seq += n
        for path, batch_max in frame.group_by("path").agg(ts.max()).iter_rows():
            if batch_max is not None:
                self.max_seen[path] = max(self.max_seen.get(path, batch_max), batch_max)
        return flagged.filter(pl.col("admitted")).drop("admitted")

    @property
    def watermarks(self) -> dict[str, int]:
        return {path: seen - self.lateness for path, seen in self.max_seen.items()}

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "max_seen": dict(self.max_seen), "seq": self.seq}

    def load_json(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported event clock state version {state.get('version')!r}")
        self.max_seen = {str(p): int(s) for p, s in state["max_seen"].items()}
        self.seq = int(state["seq"])


class HeldRows:
    """Rows kept until their file's watermark passes their ``due`` time.

    ``group`` (optional) names a column whose rows are released together: a group is due when
    every row in it is (a tumbling window is released whole, never half).

    Rows are kept as the chunks they were added in. Why: under a flood the held rows run to
    millions, and filtering one big frame every batch copied all of them (twice the memory, for
    a moment, every batch); a chunk with nothing to release or drop is now left untouched.
    """

    #: chunks beyond this are merged (many tiny batches must not make every release a long loop)
    MAX_CHUNKS = 64

    def __init__(self, schema: Mapping[str, pl.DataType], group: str | None = None) -> None:
        self.schema = dict(schema)
        self.group = group
        self.chunks: list[pl.DataFrame] = []

    @property
    def rows(self) -> pl.DataFrame:
        """All held rows as one frame (for joins and checkpoints; the chunks stay as they are)."""
        if not self.chunks:
            return pl.DataFrame(schema=self.schema)
        return self.chunks[0] if len(self.chunks) == 1 else pl.concat(self.chunks)

    @rows.setter
    def rows(self, frame: pl.DataFrame) -> None:
        self.chunks = [frame] if frame.height else []

    @property
    def height(self) -> int:
        return sum(c.height for c in self.chunks)

    def add(self, rows: pl.DataFrame) -> None:
        if rows.height:
            self.chunks.append(rows.select(list(self.schema)).cast(self.schema))  # type: ignore[arg-type]
            if len(self.chunks) > self.MAX_CHUNKS:
                self.chunks = [pl.concat(self.chunks)]

    def drop(self, mask: pl.Expr) -> None:
        """Forget the rows where ``mask`` holds, copying only chunks that lose some but not all."""
        kept = []
        for chunk in self.chunks:
            hit = chunk.select(mask.fill_null(False)).to_series()
            n = int(hit.sum())
            if n == 0:
                kept.append(chunk)
            elif n < chunk.height:
                kept.append(chunk.filter(~hit))
        self.chunks = kept

    def release(self, watermarks: Mapping[str, int] | None) -> pl.DataFrame:
        """Remove and return the rows that are due (all of them when ``watermarks`` is None)."""
        if not self.chunks:
            return pl.DataFrame(schema=self.schema)
        if watermarks is None:
            out = self.rows
            self.chunks = []
            return out
        due = (pl.col("due") < watermark_of(watermarks)).fill_null(False)
        flags = [chunk.select(due).to_series() for chunk in self.chunks]
        if self.group is not None:
            # a group is due only if its rows are due in every chunk that holds some
            parts = [
                chunk.select(pl.col(self.group), due=flag).group_by(self.group).agg(pl.col("due").all())
                for chunk, flag in zip(self.chunks, flags, strict=True)
            ]
            late = pl.concat(parts).filter(~pl.col("due"))[self.group].unique()
            flags = [
                flag & ~chunk[self.group].is_in(late.implode()) for chunk, flag in zip(self.chunks, flags, strict=True)
            ]
        released: list[pl.DataFrame] = []
        kept: list[pl.DataFrame] = []
        for chunk, flag in zip(self.chunks, flags, strict=True):
            n = int(flag.sum())
            if n == 0:
                kept.append(chunk)
            elif n == chunk.height:
                released.append(chunk)
            else:
                released.append(chunk.filter(flag))
                kept.append(chunk.filter(~flag))
        self.chunks = kept
        return pl.concat(released) if released else pl.DataFrame(schema=self.schema)

    def to_json(self) -> dict[str, Any]:
        return self.rows.to_dict(as_series=False)

    def load_json(self, state: Mapping[str, Any]) -> None:
        self.rows = pl.DataFrame(dict(state), schema=self.schema)
