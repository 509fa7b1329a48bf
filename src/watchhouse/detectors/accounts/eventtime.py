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

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

STATE_VERSION = 1
#: stands for a missing time in the numpy running maximum (smaller than any real one)
_NO_TIME = np.iinfo(np.int64).min


def watermark_of(watermarks: Mapping[str, int]) -> pl.Expr:
    """Each row's file watermark (microseconds; null for a file with no admitted row yet)."""
    if not watermarks:
        return pl.lit(None, dtype=pl.Int64)
    return pl.col("path").replace_strict(dict(watermarks), default=None, return_dtype=pl.Int64)


def _by_path(paths: pl.Series) -> Iterator[tuple[str, npt.NDArray[np.intp] | None]]:
    """Each file of a batch with its row positions in stream order (``None``: every row, the
    usual case of a batch read from one file)."""
    first = paths[0]
    if (paths == first).all():
        yield first, None
        return
    groups = paths.to_frame("path").with_row_index().group_by("path", maintain_order=True).agg("index")
    for path, index in groups.iter_rows():
        yield path, np.asarray(index, dtype=np.intp)


#: unsigned integer types :func:`compacted` may store a column in, smallest first, each with the
#: first value it cannot hold
UNSIGNED_TYPES: tuple[tuple[pl.DataType, int], ...] = (
    (pl.UInt8(), 1 << 8),
    (pl.UInt16(), 1 << 16),
    (pl.UInt32(), 1 << 32),
)


def compacted(
    frame: pl.DataFrame,
    *,
    empty: Sequence[str] = (),
    narrow: Sequence[str] = (),
    types: Sequence[tuple[pl.DataType, int]] = UNSIGNED_TYPES,
) -> pl.DataFrame:
    """``frame`` with each ``empty`` column that holds no value as a ``Null`` column (no memory),
    and each other ``narrow`` integer column as the first of ``types`` that holds every value
    (left as it is when a value is negative or none fits). Values are unchanged; whoever reads
    the frame casts back.

    Why: the rows held for later (pending failures, late events) run to millions under a flood,
    and line numbers, stream positions and name codes fit in far fewer than 8 bytes, while a
    source without byte offsets paid 8 bytes a row for nothing. One pass finds every column's
    null count and range."""
    if not empty and not narrow:
        return frame
    stats = frame.select(
        *(pl.col(name).null_count().alias(f"{name}.nulls") for name in empty),
        *(pl.col(name).min().cast(pl.Int64).alias(f"{name}.min") for name in narrow),
        *(pl.col(name).max().cast(pl.Int64).alias(f"{name}.max") for name in narrow),
    ).row(0, named=True)
    vacant = [name for name in empty if stats[f"{name}.nulls"] == frame.height]
    changes = [pl.lit(None, dtype=pl.Null).alias(name) for name in vacant]
    for name in narrow:
        low, high = stats[f"{name}.min"], stats[f"{name}.max"]
        if name in vacant or low is None or high is None or low < 0:
            continue
        dtype = next((dtype for dtype, end in types if high < end), None)
        if dtype is not None and dtype != frame.schema[name]:
            changes.append(pl.col(name).cast(dtype))
    return frame.with_columns(changes) if changes else frame


def _due(chunk: pl.DataFrame, watermarks: Mapping[str, int]) -> npt.NDArray[np.bool_]:
    """Which rows of ``chunk`` are due: ``due`` before their file's watermark (a chunk from one
    file, the usual case, is compared with one number in numpy instead of a per-row lookup)."""
    paths = chunk["path"]
    first = paths[0] if chunk.height else None
    if first is not None and paths.null_count() == 0 and (paths == first).all():
        mark = watermarks.get(first)
        due = chunk["due"]
        if mark is None:
            return np.zeros(chunk.height, dtype=bool)
        if due.null_count() == 0:
            flags: npt.NDArray[np.bool_] = due.to_numpy() < mark
            return flags
    return chunk.select((pl.col("due") < watermark_of(watermarks)).fill_null(False)).to_series().to_numpy()


class EventClock:
    """Numbers rows in stream order and decides which are late, file by file."""

    def __init__(self, lateness: int) -> None:
        self.lateness = lateness
        self.max_seen: dict[str, int] = {}
        self.seq = 0

    def admit(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The admitted rows of ``frame`` (needs ``ts`` and ``path``), with a stream ``seq``.

        Computed with numpy, file by file (a running maximum per file): a Polars window
        expression over the file column cost several milliseconds a batch, more than the
        detectors' own counting."""
        first, admitted = self.admission(frame)
        seq = pl.int_range(first, first + frame.height, dtype=pl.Int64)
        if frame["path"].null_count():
            frame = frame.with_columns(pl.col("path").fill_null(""), seq=seq)
        else:  # the usual batch: a null-free path column is kept, not copied
            frame = frame.with_columns(seq=seq)
        return frame if admitted is None else frame.filter(pl.Series(admitted))

    def admission(self, frame: pl.DataFrame) -> tuple[int, npt.NDArray[np.bool_] | None]:
        """What :meth:`admit` decides, for a caller that builds its own rows (one query instead
        of two): the stream number of the first row of ``frame`` (the others follow in order),
        and which rows are admitted (None: all of them). A null file counts as ``""``."""
        n = frame.height
        first = self.seq
        self.seq += n
        if n == 0:
            return first, None
        paths = frame["path"]
        if paths.null_count():
            paths = paths.fill_null("")
        ts = frame["ts"]
        if ts.dtype != pl.Int64:
            ts = ts.cast(pl.Int64)
        valid = ts.is_not_null().to_numpy() if ts.null_count() else None
        stamps = ts.fill_null(_NO_TIME).to_numpy() if valid is not None else ts.to_numpy()
        admitted = np.ones(n, dtype=bool) if valid is None else valid.copy()
        for path, idx in _by_path(paths):
            seen = self.max_seen.get(path)
            part = stamps if idx is None else stamps[idx]
            running = np.maximum.accumulate(part)
            # the largest time before each row in this file: earlier batches', then this one's
            before = np.empty_like(running)
            before[0] = _NO_TIME if seen is None else seen
            np.maximum(running[:-1], before[0], out=before[1:])
            # a row with nothing before it is admitted (``before`` stays _NO_TIME: no underflow)
            ok = part >= np.maximum(before, _NO_TIME + self.lateness) - self.lateness
            if idx is None:
                admitted &= ok
            else:
                admitted[idx] &= ok
            valid_part = valid if idx is None or valid is None else valid[idx]
            if valid_part is None or valid_part.any():
                top = int(running[-1])
                self.max_seen[path] = top if seen is None else max(seen, top)
        return first, None if admitted.all() else admitted

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

    def __init__(
        self,
        schema: Mapping[str, pl.DataType],
        group: str | None = None,
        *,
        sparse: bool = False,
        narrow: tuple[str, ...] = (),
        thin_from: int = 0,
    ) -> None:
        self.schema = dict(schema)
        self._names = list(self.schema)
        self.group = group
        #: keep a column that is null on every row of a chunk as a ``Null`` column, which costs no
        #: memory: a flood's pending failures from a source without byte offsets paid 8 bytes a
        #: row for nothing. Readers of the chunks must accept it (:attr:`rows` restores the schema).
        self.sparse = sparse
        #: integer columns kept as ``UInt32`` in a chunk whose values all fit (line numbers and
        #: stream positions nearly always do): 4 bytes a row each instead of 8
        self.narrow = narrow
        #: chunks of fewer rows are added as they are (thinned only once merged): thinning costs
        #: two frame passes a chunk, which for the few rows a quiet batch adds is all of the cost
        #: and saves nothing worth having
        self.thin_from = thin_from
        self.chunks: list[pl.DataFrame] = []

    @property
    def rows(self) -> pl.DataFrame:
        """All held rows as one frame (for joins and checkpoints; the chunks stay as they are)."""
        if not self.chunks:
            return pl.DataFrame(schema=self.schema)
        return self._concat(self.chunks)

    @rows.setter
    def rows(self, frame: pl.DataFrame) -> None:
        self.chunks = [frame] if frame.height else []

    def _concat(self, chunks: list[pl.DataFrame]) -> pl.DataFrame:
        if not (self.sparse or self.narrow):
            return chunks[0] if len(chunks) == 1 else pl.concat(chunks)
        return pl.concat(chunks, how="vertical_relaxed").cast(self.schema)  # type: ignore[arg-type]

    def _thin(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """``chunk`` with its all-null columns as ``Null`` columns (when :attr:`sparse`) and its
        :attr:`narrow` columns as ``UInt32`` where every value fits (:func:`compacted`)."""
        return compacted(
            chunk, empty=chunk.columns if self.sparse else (), narrow=self.narrow, types=UNSIGNED_TYPES[-1:]
        )

    @property
    def height(self) -> int:
        return sum(c.height for c in self.chunks)

    def add(self, rows: pl.DataFrame) -> None:
        if rows.height:
            chunk = rows if rows.columns == self._names else rows.select(self._names)
            if chunk.schema != self.schema:
                chunk = chunk.cast(self.schema)  # type: ignore[arg-type]
            self.chunks.append(chunk if chunk.height < self.thin_from else self._thin(chunk))
            if len(self.chunks) > self.MAX_CHUNKS:
                self.chunks = [self._thin(self._concat(self.chunks))]

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

    def drop_below(self, column: str, bound: int) -> None:
        """Forget the rows whose integer ``column`` lies below ``bound`` (nulls stay), as
        :meth:`drop` does, with the test in numpy: an expression costs a frame pass a chunk,
        every batch, however few rows the chunk holds."""
        kept = []
        for chunk in self.chunks:
            values = chunk[column]
            hit = values.fill_null(bound).to_numpy() < bound if values.null_count() else values.to_numpy() < bound
            n = int(hit.sum())
            if n == 0:
                kept.append(chunk)
            elif n < chunk.height:
                kept.append(chunk.filter(pl.Series(~hit)))
        self.chunks = kept

    def release(self, watermarks: Mapping[str, int] | None) -> pl.DataFrame:
        """Remove and return the rows that are due (all of them when ``watermarks`` is None)."""
        if not self.chunks:
            return pl.DataFrame(schema=self.schema)
        if watermarks is None:
            out = self.rows
            self.chunks = []
            return out
        flags = [_due(chunk, watermarks) for chunk in self.chunks]
        if self.group is not None:
            # a group is due only if its rows are due in every chunk that holds some
            groups = [chunk[self.group].to_numpy() for chunk in self.chunks]
            waiting = [g[~f] for g, f in zip(groups, flags, strict=True)]
            if any(w.size for w in waiting):
                late = np.concatenate(waiting)
                flags = [f & ~np.isin(g, late) for g, f in zip(groups, flags, strict=True)]
        released: list[pl.DataFrame] = []
        kept: list[pl.DataFrame] = []
        for chunk, flag in zip(self.chunks, flags, strict=True):
            n = int(flag.sum())
            if n == 0:
                kept.append(chunk)
            elif n == chunk.height:
                released.append(chunk)
            else:
                released.append(chunk.filter(pl.Series(flag)))
                kept.append(chunk.filter(pl.Series(~flag)))
        self.chunks = kept
        return self._concat(released) if released else pl.DataFrame(schema=self.schema)

    def to_json(self) -> dict[str, Any]:
        return self.rows.to_dict(as_series=False)

    def load_json(self, state: Mapping[str, Any]) -> None:
        self.rows = pl.DataFrame(dict(state), schema=self.schema)
