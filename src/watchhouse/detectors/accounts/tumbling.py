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
only hash collisions (rare at the default width) can promote a key early. A Bloom filter per
window (``bloom_bits``) answers "failed before?" first, so one-off keys of a ten-million-key flood
are not promoted by count-min collisions.

Why folding (``fold_head``/``fold_tail``): a key with thousands of failures in a window needs all
of them counted but only a few cited. Past the first and last few, a failure is kept as a narrow
row (window, key, address, account, unknown-account flag) and cited by none; the sides shrink
when many keys fail in one window (see :meth:`TumblingWindows.evidence_sides`). Closed windows
go to the judges in parts (:meth:`TumblingWindows._parts`) so a flood window is never judged, or
unfolded, at once.
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
from watchhouse.detectors.accounts.eventtime import EventClock, HeldRows
from watchhouse.detectors.accounts.sketches import CountMinSketch, GrowingBloom, GrowingCountMin, hash_keys

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
#: a pending row is a failure not yet promoted: ``win``, ``due`` and ``outcome`` are implied, and
#: so is ``ip`` when the key is the address; the file is a code (see ``TumblingWindows.paths``)
#: and the reason only whether the account was unknown (all the judges read). A flood fills the
#: pending buffer, so every byte counts: these save ~40 of ~120 bytes a row.
PENDING_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.Int64(),
    "ts": pl.Int64(),
    "path_id": pl.UInt32(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
    "key": pl.String(),
    "user": pl.String(),
    "unknown": pl.Boolean(),
}
#: a failure folded out of the whole rows (see :meth:`TumblingWindows._fold`): what the judges
#: count, without time or reference
MIDDLE_SCHEMA: dict[str, pl.DataType] = {
    "win": pl.Int64(),
    "key": pl.String(),
    "ip": pl.String(),
    "user": pl.String(),
    "unknown": pl.Boolean(),
}
#: the only ``event.reason`` the judges read
UNKNOWN_REASON = "unknown_user"
#: held rows below which folding is not worth a pass
FOLD_MIN_ROWS = 100_000
#: whole failures a window keeps in all when many keys fail in it (see ``evidence_sides``)
FOLD_BUDGET = 200_000
#: the fewest first (and last) failures of a key kept whole, however many keys fail
MIN_EVIDENCE_SIDE = 10
#: rows the judges take at once when a window is larger (judging copies its part several times
#: over; at 250,000 rows that was a flood's peak memory, and smaller parts cost no more time)
PART_ROWS = 50_000
STATE_VERSION = 3


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
        bloom_bits: int | None = None,
        fold_head: int | None = None,
        fold_tail: int = 0,
        fold_min_rows: int = FOLD_MIN_ROWS,
        fold_budget: int = FOLD_BUDGET,
    ) -> None:
        self.window = window
        self.fold_head = fold_head
        self.fold_tail = fold_tail
        self.middle = HeldRows(MIDDLE_SCHEMA)
        self.fold_min_rows = fold_min_rows
        self.fold_budget = fold_budget
        self._fold_at = fold_min_rows
        self.bloom_bits = bloom_bits
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
        self.paths: dict[str, int] = {}  # file -> code in pending rows
        # failures and successes per key, one sketch per open window (growing ones when ``small``)
        self.sketches: dict[int, CountMinSketch | GrowingCountMin] = {}
        self.success_sketches: dict[int, CountMinSketch | GrowingCountMin] = {}
        # with ``bloom_bits``: which keys failed at all, per window (see :class:`GrowingBloom`)
        self.blooms: dict[int, GrowingBloom] = {}

    def update(self, frame: pl.DataFrame) -> Iterator[pl.DataFrame]:
        """Admit a batch (:data:`INPUT_SCHEMA`) and return the rows of windows it closed, as
        :meth:`_parts` cuts them."""
        if frame.height == 0:
            return iter([])
        rows = self.clock.admit(frame).with_columns(win=(pl.col("ts") // self.window) * self.window)
        rows = rows.with_columns(due=pl.col("win") + self.window).select(list(ROW_SCHEMA))
        watermarks = self.clock.watermarks
        if self.promote_at is None:
            self.held.add(rows.filter(pl.col("key").is_not_null()))
        else:
            self._promote(rows.filter(pl.col("key").is_not_null()), watermarks)
        self._fold()
        return self._release(watermarks)

    def flush(self) -> Iterator[pl.DataFrame]:
        self.pending.release(None)
        out = self._parts(self.held.release(None), self.middle.release(None))
        self.sketches.clear()
        self.success_sketches.clear()
        self.blooms.clear()
        return out

    def _fold(self) -> None:
        """Keep only the first ``fold_head`` and last ``fold_tail`` failures (stream order) of each
        (window, key) as whole rows; the others become :data:`MIDDLE_SCHEMA` rows.

        Why: a fingerprint replayed from thousands of addresses holds thousands of rows per window,
        and each whole row costs ~160 bytes with its evidence reference. The judges need every
        failure's address, account and reason to count exactly, but only a few references to cite.
        A failure folded away can never be among the first or last again (later rows only add to
        both ends), so the rows kept do not depend on when folding ran. Folding runs when the held
        rows have doubled since the last time, so its cost stays proportional to the input."""
        if self.fold_head is None or self.held.height <= self._fold_at:
            return
        rows = pl.concat(self.held.chunks, rechunk=False)
        self.held.chunks = []
        # the places are found on a narrow integer frame (row number, window, key hash, time,
        # sequence): sorting and grouping the whole rows, strings and all, made a flood's peak
        # memory (a few hundred MB for a million held rows)
        fails = (
            rows.select(
                i=pl.int_range(pl.len(), dtype=pl.UInt32),
                win="win",
                h=pl.Series(hash_keys(rows["key"])),
                ts="ts",
                seq="seq",
                fail=pl.col("outcome") == "failure",
            )
            .filter("fail")
            .drop("fail")
            .sort("win", "h", "ts", "seq")
        )
        place = pl.int_range(pl.len()).over("win", "h")
        head, tail = self.evidence_sides(pl.col("h").n_unique().over("win"))
        folded = fails.filter((place >= head) & (place < pl.len().over("win", "h") - tail))["i"]
        del fails
        out = np.zeros(rows.height, dtype=bool)
        out[folded.to_numpy()] = True
        self.held.add(rows.filter(~pl.Series(out)))
        # narrowed before filtering, so only the folded columns are copied
        self.middle.add(
            rows.select("win", "key", "ip", "user", unknown=pl.col("reason").eq_missing(UNKNOWN_REASON)).filter(
                pl.Series(out)
            )
        )
        self._fold_at = max(self.fold_min_rows, 2 * self.held.height)

    def evidence_sides(self, window_keys: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
        """How many first and last failures of a (window, key) stay whole, given how many keys
        failed in the window: ``fold_head`` and ``fold_tail``, scaled down so that a window keeps
        about ``fold_budget`` whole failures in all, but never below :data:`MIN_EVIDENCE_SIDE`.

        Why scaled by the window: when thousands of keys fire in one window, a few hundred cited
        lines each would be millions of references nobody reads, held in memory. The count of
        keys only grows while a window is open, so the sides only shrink: a row folded away
        earlier is outside the final sides too, and what is cited does not depend on batching."""
        assert self.fold_head is not None
        scale = pl.lit(self.fold_budget) / (window_keys * (self.fold_head + self.fold_tail))

        def side(full: int) -> pl.Expr:
            scaled = (scale * full).floor().cast(pl.Int64)
            return pl.min_horizontal(pl.lit(full), pl.max_horizontal(pl.lit(min(full, MIN_EVIDENCE_SIDE)), scaled))

        return side(self.fold_head), side(self.fold_tail)

    def _release_middle(self, wins: pl.Series) -> pl.DataFrame:
        """Folded rows of the windows the held rows just released. Folding keeps a group's first
        failures whole, so every window with folded rows has held rows and is released whole."""
        if not self.middle.chunks or wins.len() == 0:
            return pl.DataFrame(schema=MIDDLE_SCHEMA)
        closed = pl.col("win").is_in(wins.implode())
        out = [chunk.filter(closed) for chunk in self.middle.chunks]
        self.middle.chunks = [rest for chunk in self.middle.chunks if (rest := chunk.filter(~closed)).height]
        return pl.concat(out)

    def _parts(self, rows: pl.DataFrame, middle: pl.DataFrame) -> Iterator[pl.DataFrame]:
        """Closed rows with ``successes_seen`` (and the evidence sides when folding), cut into
        parts the judges take one at a time, oldest window first; folded rows join their part
        back in :data:`ROW_SCHEMA`, without a reference.

        Why parts: judging copies its input several times over (joins, filters, group-bys), and
        folded rows cost twice as much once unfolded; a flood window of millions of rows judged
        at once made the detector's peak memory. A large window is cut by key hash into parts of
        about :data:`PART_ROWS` rows, made one at a time as the judge asks; a key lies in one part
        only, so the judges see every row of a (window, key) together. What needs the sketches is
        added now, before they are dropped; a folded row needs none (its key's whole rows carry it)."""
        rows = self._with_successes(rows)
        if self.fold_head is not None:
            fail = pl.col("outcome") == "failure"
            head, tail = self.evidence_sides(pl.col("key").filter(fail).n_unique().over("win"))
            rows = rows.with_columns(evidence_head=head, evidence_tail=tail)
        if rows.height + middle.height <= PART_ROWS:
            whole = pl.concat([rows, self._unfold(middle)], how="diagonal") if middle.height else rows
            return iter([whole] if whole.height else [])
        return self._slices(rows, middle)

    def _slices(self, rows: pl.DataFrame, middle: pl.DataFrame) -> Iterator[pl.DataFrame]:
        """``rows`` and ``middle`` window by window (ascending), a large window in key-hash
        buckets of about :data:`PART_ROWS` rows."""
        row_hashes = hash_keys(rows["key"])
        folded = dict(_by_window(middle["win"].to_numpy())) if middle.height else {}
        middle_hashes = hash_keys(middle["key"]) if middle.height else np.zeros(0, dtype=np.uint64)
        for win, idx in _by_window(rows["win"].to_numpy()):
            midx = folded.get(win, np.zeros(0, dtype=np.intp))
            cuts = -(-(idx.size + midx.size) // PART_ROWS)
            for b in range(cuts):
                part = rows[idx[row_hashes[idx] % np.uint64(cuts) == b]]
                mpart = midx[middle_hashes[midx] % np.uint64(cuts) == b]
                if mpart.size:
                    part = pl.concat([part, self._unfold(middle[mpart])], how="diagonal")
                if part.height:
                    yield part

    def _unfold(self, middle: pl.DataFrame) -> pl.DataFrame:
        """Folded failures in :data:`ROW_SCHEMA`: no time, sequence or reference of their own."""
        return middle.select(
            "win",
            due=pl.col("win") + self.window,
            seq=pl.lit(None, dtype=pl.Int64),
            ts=pl.lit(None, dtype=pl.Int64),
            path=pl.lit(None, dtype=pl.String),
            line=pl.lit(None, dtype=pl.Int64),
            offset=pl.lit(None, dtype=pl.Int64),
            key="key",
            ip="ip",
            user="user",
            outcome=pl.lit("failure"),
            reason=pl.when("unknown").then(pl.lit(UNKNOWN_REASON)).otherwise(pl.lit(None, dtype=pl.String)),
        )

    def _release(self, watermarks: Mapping[str, int]) -> Iterator[pl.DataFrame]:
        rows = self.held.release(watermarks)
        out = self._parts(rows, self._release_middle(rows["win"].unique()))
        if self.sketches and watermarks:
            slowest = min(watermarks.values())
            for win in [w for w in self.sketches if w + self.window < slowest - self.horizon]:
                del self.sketches[win]
                self.success_sketches.pop(win, None)
                self.blooms.pop(win, None)
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
            sketch = self.sketches.get(win)
            if sketch is None:
                sketch = self.sketches[win] = self._sketch(self.width_bits)
                if self.bloom_bits is not None:
                    self.blooms[win] = GrowingBloom(self.bloom_bits)
            wins = self.success_sketches.get(win) or self.success_sketches.setdefault(
                win, self._sketch(self.success_width_bits)
            )
            h = hashes[idx]
            fails = h[is_failure[idx]]
            bloom = self.blooms.get(win)
            if bloom is None:
                before[idx] = sketch.estimate(h)
            else:
                # a key the filter never saw has failed zero times: no count-min collision for it
                before[idx] = np.where(bloom.contains(h), sketch.estimate(h), 0)
                bloom.add(fails)
            sketch.add(fails)
            wins.add(h[is_success[idx]])
        batch = rows.with_columns(
            est=pl.Series(before) + failures.fill_null(False).cast(pl.Int64).cum_sum().over("win", "key")
        )
        promoted = pl.col("est") >= self.promote_at
        newly = batch.filter(promoted).group_by("win", "key").agg(since=pl.col("ts").min() - self.horizon)
        self.pending.add(self._pack(batch.filter(~promoted & failures)))
        if newly.height and self.pending.chunks:
            self._pull(newly)
        self.held.add(batch.filter(promoted))
        if self.pending.chunks and watermarks:
            marks = {code: watermarks[path] for path, code in self.paths.items() if path in watermarks}
            mark = pl.col("path_id").replace_strict(marks, default=None, return_dtype=pl.Int64)
            self.pending.drop(pl.col("ts") < mark - self.horizon)

    def _pull(self, newly: pl.DataFrame) -> None:
        """Move pending rows of newly promoted keys (within ``horizon`` of the promoting row) into
        the held rows, chunk by chunk: joining the whole buffer at once copied all of it, every
        batch, which under a flood was the detector's peak memory."""
        keys = newly["key"].implode()
        pull = (pl.col("ts") >= pl.col("since")).fill_null(False)
        kept: list[pl.DataFrame] = []
        for chunk in self.pending.chunks:
            if not chunk["key"].is_in(keys).any():
                kept.append(chunk)
                continue
            joined = chunk.with_columns(win=(pl.col("ts") // self.window) * self.window).join(
                newly, on=["win", "key"], how="left"
            )
            pulled = joined.filter(pull)
            if pulled.height == 0:
                kept.append(chunk)
                continue
            self.held.add(self._unpack(pulled))
            rest = joined.filter(~pull).select(list(self.pending.schema))
            if rest.height:
                kept.append(rest)
        self.pending.chunks = kept

    def _sketch(self, bits: int) -> CountMinSketch | GrowingCountMin:
        return GrowingCountMin(bits, self.depth) if self.small else CountMinSketch(bits, self.depth)

    def _pack(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Failures in :data:`PENDING_SCHEMA` (new files get the next code)."""
        for path in rows["path"].unique().to_list():
            self.paths.setdefault(path, len(self.paths))
        return rows.select(
            "seq",
            "ts",
            path_id=pl.col("path").replace_strict(self.paths, return_dtype=pl.UInt32),
            line="line",
            offset="offset",
            key="key",
            user="user",
            unknown=pl.col("reason").eq_missing(UNKNOWN_REASON),
            **({} if self.key_is_ip else {"ip": pl.col("ip")}),
        )

    def _unpack(self, pending: pl.DataFrame) -> pl.DataFrame:
        """Pending rows back in :data:`ROW_SCHEMA` (they are failures, due when their window ends;
        a reason other than an unknown account is not kept, nothing reads it)."""
        names = {code: path for path, code in self.paths.items()}
        return pending.with_columns(
            due=pl.col("win") + self.window,
            path=pl.col("path_id").replace_strict(names, return_dtype=pl.String),
            outcome=pl.lit("failure"),
            reason=pl.when("unknown").then(pl.lit(UNKNOWN_REASON)).otherwise(pl.lit(None, dtype=pl.String)),
            **({"ip": pl.col("key")} if self.key_is_ip else {}),
        )

    @property
    def held_rows(self) -> int:
        return self.held.height + self.pending.height + self.middle.height

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "clock": self.clock.to_json(),
            "held": self.held.to_json(),
            "pending": self.pending.to_json(),
            "paths": list(self.paths),
            "middle": self.middle.to_json(),
            "sketches": {str(w): s.to_json() for w, s in self.sketches.items()},
            "success_sketches": {str(w): s.to_json() for w, s in self.success_sketches.items()},
            "blooms": {str(w): b.to_json() for w, b in self.blooms.items()},
        }

    def load_json(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported window state version {state.get('version')!r}")
        self.clock.load_json(state["clock"])
        self.held.load_json(state["held"])
        self.pending.load_json(state["pending"])
        self.paths = {str(path): code for code, path in enumerate(state["paths"])}
        self.middle.load_json(state["middle"])
        load = GrowingCountMin.from_json if self.small else CountMinSketch.from_json
        self.sketches = {int(w): load(s) for w, s in state["sketches"].items()}
        self.success_sketches = {int(w): load(s) for w, s in state["success_sketches"].items()}
        # a window checkpointed without a filter goes on without one (estimates stay over-estimates)
        self.blooms = {int(w): GrowingBloom.from_json(b) for w, b in state.get("blooms", {}).items()}


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
        return [f for part in self._windows.update(login_rows(batch, self.KEY_COLUMN)) for f in self._judge(part)]

    def finalize(self) -> list[Finding]:
        out = [f for part in self._windows.flush() for f in self._judge(part)]
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
