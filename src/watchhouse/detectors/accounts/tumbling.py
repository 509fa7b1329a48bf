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

Why numpy over one packed sort (:func:`group_order`, :class:`KeyGroups`): every batch needs
per-(window, key) running counts and totals over tens of thousands of rows, and Polars window
expressions and group-bys over string keys cost tens of milliseconds a batch; one sort of a
64-bit word per row (window rank, key hash, position) and cumulative sums over it cost one or two.
Keys are told apart by hash bits there (at least 40); a collision merges two keys' counts, which,
like a count-min collision, can only promote early or keep a group the judge then drops.

Windows a batch opens and closes (its watermark passes them, sketch horizon included) need no
sketch: nothing was counted for them before and nothing can be after, so their failures start at
zero and their successes are counted exactly. A sketch is kept only for a window that spans
batches, which is where its fixed memory matters. (So a count can depend on the batching only
where a sketch collision over-counts, as promotion already could.)

Why a screen (``screen``, :mod:`.window_screen`): a batch of a day's logins opens and closes
a couple of dozen windows, and most of their (window, key) groups fail the judge's lower bar.
Their counts are final when the batch is promoted, so the judge's bar is asked then and only the
groups that pass it are held; a failing key turned down still counts towards its window's
evidence sides, so what is cited does not change.

Why folding (``fold_head``/``fold_tail``): a key with thousands of failures in a window needs all
of them counted but only a few cited. Past the first and last few, a failure is kept as a narrow
row (window, key, address, account, unknown-account flag) and cited by none; the sides shrink
when many keys fail in one window (see :meth:`TumblingWindows.evidence_sides`). Closed windows
go to the judges in parts (:meth:`TumblingWindows._parts`) so a flood window is never judged, or
unfolded, at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.direct_columns import constant, equals, present, run_sums
from watchhouse.detectors.accounts.eventtime import EventClock, HeldRows
from watchhouse.detectors.accounts.grouping import (
    KeyGroups,
    by_window,
    group_order,
    run_lengths,
    window_bounds,
    window_key,
)
from watchhouse.detectors.accounts.sketches import CountMinSketch, GrowingBloom, GrowingCountMin, among, hash_keys
from watchhouse.detectors.accounts.window_screen import ClosingGroups, Screen

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
#: so is ``ip`` when the key is the address; the file is a code (see ``TumblingWindows.paths``),
#: the reason only whether the account was unknown (all the judges read), and the key its 64-bit
#: hash ``h`` (the row that promotes a key brings its text back). A flood fills the pending
#: buffer, so every byte counts.
PENDING_SCHEMA: dict[str, pl.DataType] = {
    "seq": pl.Int64(),
    "ts": pl.Int64(),
    "path_id": pl.UInt32(),
    "line": pl.Int64(),
    "offset": pl.Int64(),
    "h": pl.UInt64(),
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
#: waiting rows up to which the keys that may pull some are found first by hash (under a flood
#: the buffer holds millions, and the per-chunk lookup of :meth:`TumblingWindows._pull` is cheaper)
PULL_CHECK_ROWS = 100_000
#: pending rows a batch adds below which they are kept unthinned (see :class:`HeldRows`)
PENDING_THIN_FROM = 4096
#: pending rows :meth:`TumblingWindows._pull` looks up at once
PULL_SLICE = 1 << 20
STATE_VERSION = 4
#: the version before pending rows kept their key as a hash (still loaded)
KEY_TEXT_VERSION = 3


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
        screen: Screen | None = None,
    ) -> None:
        self.window = window
        #: the judge's lower bar, asked of windows a batch opens and closes (see :mod:`.window_screen`)
        self.screen = screen
        #: per window a batch closed: failing keys screened out (they still count towards the
        #: window's evidence sides, :meth:`evidence_sides`), until released
        self._screened_keys: dict[int, int] = {}
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
        self.pending = HeldRows(pending, sparse=True, narrow=("seq", "line"), thin_from=PENDING_THIN_FROM)
        self.paths: dict[str, int] = {}  # file -> code in pending rows
        # failures and successes per key, one sketch per open window (growing ones when ``small``)
        self.sketches: dict[int, CountMinSketch | GrowingCountMin] = {}
        self.success_sketches: dict[int, CountMinSketch | GrowingCountMin] = {}
        # the last part handed out whole, with its groups (see :meth:`groups_of`)
        self._grouped: tuple[pl.DataFrame, KeyGroups] | None = None
        # windows a batch opened and closed: key hashes and exact successes, until released
        self._passing: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]] = []
        # with ``bloom_bits``: which keys failed at all, per window (see :class:`GrowingBloom`)
        self.blooms: dict[int, GrowingBloom] = {}

    def update(self, frame: pl.DataFrame) -> Iterator[pl.DataFrame]:
        """Admit a batch (:data:`INPUT_SCHEMA`) and return the rows of windows it closed, as
        :meth:`_parts` cuts them."""
        if frame.height == 0:
            return iter([])
        first, admitted = self.clock.admission(frame)
        keep = present(frame["key"]) if admitted is None else admitted & present(frame["key"])
        # numbered, windowed and narrowed; then late rows and rows without a key go
        rows = self._numbered(frame, first)
        if not keep.all():
            rows = rows.filter(pl.Series(keep))
        watermarks = self.clock.watermarks
        if self.promote_at is None:
            self.held.add(rows)
        else:
            self._promote(rows, watermarks)
        self._fold()
        return self._release(watermarks)

    def _numbered(self, frame: pl.DataFrame, first: int) -> pl.DataFrame:
        """``frame`` in :data:`ROW_SCHEMA`: each row's window, due time and stream number
        (``first`` for the first row), a null file as ``""``.

        Built column by column in numpy when every row has a time and a file (the usual batch):
        the one query with an expression per column cost twice as much (0.7 ms a batch of 65,536)."""
        ts, path = frame["ts"], frame["path"]
        if ts.dtype != pl.Int64 or ts.null_count() or path.null_count():
            win = (pl.col("ts") // self.window) * self.window
            return frame.select(
                win.alias("win"),
                (win + self.window).alias("due"),
                pl.int_range(first, first + frame.height, dtype=pl.Int64).alias("seq"),
                "ts",
                pl.col("path").fill_null(""),
                *list(ROW_SCHEMA)[5:],
            )
        wins = ts.to_numpy() // self.window * self.window
        columns = [
            pl.Series("win", wins, dtype=pl.Int64),
            pl.Series("due", wins + self.window, dtype=pl.Int64),
            pl.Series("seq", np.arange(first, first + frame.height, dtype=np.int64)),
            ts,
            path,
            *(frame[name] for name in list(ROW_SCHEMA)[5:]),
        ]
        return pl.DataFrame(columns)

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
        keys = pl.col("h").n_unique().over("win")
        if self._screened_keys:
            keys = keys + pl.col("win").replace_strict(self._screened_keys, default=0, return_dtype=pl.Int64)
        places = fails.select(
            "i", place=pl.int_range(pl.len()).over("win", "h"), size=pl.len().over("win", "h"), keys=keys
        )
        del fails
        head, tail = self.evidence_sides(places["keys"].to_numpy())
        place = places["place"].to_numpy()
        folded = places["i"].to_numpy()[(place >= head) & (place < places["size"].to_numpy() - tail)]
        del places
        out = np.zeros(rows.height, dtype=bool)
        out[folded] = True
        self.held.add(rows.filter(~pl.Series(out)))
        # narrowed before filtering, so only the folded columns are copied
        self.middle.add(
            rows.select("win", "key", "ip", "user", unknown=pl.col("reason").eq_missing(UNKNOWN_REASON)).filter(
                pl.Series(out)
            )
        )
        self._fold_at = max(self.fold_min_rows, 2 * self.held.height)

    def evidence_sides(self, window_keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """How many first and last failures of a (window, key) stay whole, given how many keys
        failed in the window: ``fold_head`` and ``fold_tail``, scaled down so that a window keeps
        about ``fold_budget`` whole failures in all, but never below :data:`MIN_EVIDENCE_SIDE`.

        Why scaled by the window: when thousands of keys fire in one window, a few hundred cited
        lines each would be millions of references nobody reads, held in memory. The count of
        keys only grows while a window is open, so the sides only shrink: a row folded away
        earlier is outside the final sides too, and what is cited does not depend on batching."""
        assert self.fold_head is not None
        # a window of held rows has a failing key (rows are held once a key fails ``promote_at``
        # times); one is assumed where there would be none, rather than divide by zero
        keys = np.maximum(window_keys.astype(np.int64, copy=False), 1)
        scale = self.fold_budget / (keys * (self.fold_head + self.fold_tail))

        def side(full: int) -> npt.NDArray[np.int64]:
            scaled = np.floor(scale * full).astype(np.int64)
            return np.minimum(full, np.maximum(min(full, MIN_EVIDENCE_SIDE), scaled))

        return side(self.fold_head), side(self.fold_tail)

    def _release_middle(self, wins: pl.Series | None) -> pl.DataFrame:
        """Folded rows of the windows the held rows just released (``wins``; None when nothing is
        folded). Folding keeps a group's first failures whole, so every window with folded rows
        has held rows and is released whole."""
        if wins is None or not self.middle.chunks or wins.len() == 0:
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
        if rows.height == 0:
            rows = rows.with_columns(successes_seen=pl.lit(None, dtype=pl.Int64))
        else:
            groups = KeyGroups(rows, self.window)
            added = {"successes_seen": self._successes_seen(groups)}
            if self.fold_head is not None:
                # distinct failing keys of each row's window
                failing = groups.sum(equals(rows["outcome"], "failure")) > 0
                starts, ends = window_bounds(groups.wins)
                per_window = np.add.reduceat(failing.astype(np.int64), starts)
                if self._screened_keys:
                    per_window += np.array([self._screened_keys.get(int(groups.wins[g]), 0) for g in starts])
                keys = np.repeat(per_window, np.subtract(ends, starts))[groups.group]
                head, tail = self.evidence_sides(keys)
                added.update(evidence_head=pl.Series(head), evidence_tail=pl.Series(tail))
            rows = rows.with_columns(**added)
        if rows.height + middle.height <= PART_ROWS:
            if middle.height == 0:
                if rows.height:
                    self._grouped = (rows, groups)
                return iter([rows] if rows.height else [])
            return iter([pl.concat([rows, self._unfold(middle)], how="diagonal")])
        return self._slices(rows, middle)

    def groups_of(self, part: pl.DataFrame) -> KeyGroups:
        """The (window, key) groups of a part :meth:`update` or :meth:`flush` handed out: those
        found while making it when it is one whole release (the usual case), else found now."""
        made, self._grouped = self._grouped, None
        if made is not None and made[0] is part:
            return made[1]
        return KeyGroups(part, self.window)

    def _slices(self, rows: pl.DataFrame, middle: pl.DataFrame) -> Iterator[pl.DataFrame]:
        """``rows`` and ``middle`` window by window (ascending), a large window in key-hash
        buckets of about :data:`PART_ROWS` rows."""
        row_hashes = hash_keys(rows["key"])
        folded = dict(by_window(middle["win"].to_numpy())) if middle.height else {}
        middle_hashes = hash_keys(middle["key"]) if middle.height else np.zeros(0, dtype=np.uint64)
        for win, idx in by_window(rows["win"].to_numpy()):
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
        out = self._parts(rows, self._release_middle(rows["win"].unique() if self.middle.chunks else None))
        self._passing = []
        self._screened_keys = {}
        if self.success_sketches and watermarks:
            # every counted window has a success sketch (a failure one only if a later row could ask)
            slowest = min(watermarks.values())
            for win in [w for w in self.success_sketches if w + self.window < slowest - self.horizon]:
                del self.success_sketches[win]
                self.sketches.pop(win, None)
                self.blooms.pop(win, None)
        return out

    def _successes_seen(self, groups: KeyGroups) -> pl.Series:
        """Successes of each row's (window, key), as the sketch saw them (an over-estimate; it
        includes successes before the key was promoted, which are not held), or counted exactly
        for a window seen whole in this batch; null when the windows do not promote."""
        if self.promote_at is None:
            return pl.Series("successes_seen", [None] * groups.group.size, dtype=pl.Int64)
        seen = np.zeros(groups.count, dtype=np.int64)
        if self._passing:
            known = np.concatenate([keys for keys, _ in self._passing])
            counts = np.concatenate([counts for _, counts in self._passing])
            at = np.argsort(known)
            wanted = window_key(groups.wins, groups.hashes)
            found = at[np.searchsorted(known, wanted, sorter=at).clip(max=known.size - 1)]
            seen = np.where(known[found] == wanted, counts[found], 0)
        for g0, g1 in zip(*window_bounds(groups.wins), strict=True):
            sketch = self.success_sketches.get(int(groups.wins[g0]))
            if sketch is not None:
                seen[g0:g1] = sketch.estimate(groups.hashes[g0:g1])
        return pl.Series("successes_seen", seen[groups.group], dtype=pl.Int64)

    def _promote(self, rows: pl.DataFrame, watermarks: Mapping[str, int]) -> None:
        """Count the batch into the per-window sketches and hold the rows of keys that reached
        ``promote_at``.

        One packed sort puts the batch in (window, key, stream) order (:func:`group_order`);
        the running failure count of each (window, key), the row that promotes it and the earlier
        failures it pulls along are then cumulative sums over that order. The sketches are asked
        once per (window, key) and fed once per window (a batch of a slow day spans hundreds)."""
        assert self.promote_at is not None
        if rows.height == 0:
            return
        n = rows.height
        hashes = hash_keys(rows["key"])
        failed = equals(rows["outcome"], "failure")
        succeeded = equals(rows["outcome"], "success")
        wins = rows["win"].to_numpy()
        order, starts = group_order(wins, hashes, self.window)
        lengths = run_lengths(starts, n)
        first = order[starts]  # each (window, key)'s first row in stream order
        group_wins = wins[first]
        ordered_hashes = hashes[order]
        ordered_failed = failed[order]
        ordered_succeeded = succeeded[order]
        before = np.zeros(starts.size, dtype=np.int64)
        # windows this batch opens and closes: :meth:`_release` lets go of them at its end, so no
        # later row asks their counts; their successes are counted exactly, without a sketch
        passing = self._passing_groups(group_wins, watermarks)
        for g0, g1 in zip(*window_bounds(group_wins), strict=True):
            if passing[g0]:
                continue  # nothing counted before this batch: every key has failed zero times
            win = int(group_wins[g0])
            a, b = int(starts[g0]), int(starts[g1]) if g1 < starts.size else n
            successes = self.success_sketches.get(win) or self.success_sketches.setdefault(
                win, self._sketch(self.success_width_bits)
            )
            successes.add(ordered_hashes[a:b][ordered_succeeded[a:b]])
            sketch = self.sketches.get(win)
            fresh = sketch is None
            if sketch is None:
                sketch = self.sketches[win] = self._sketch(self.width_bits)
                if self.bloom_bits is not None:
                    self.blooms[win] = GrowingBloom(self.bloom_bits)
            keys = hashes[first[g0:g1]]
            fails = ordered_hashes[a:b][ordered_failed[a:b]]
            bloom = self.blooms.get(win)
            if fresh:
                pass  # a new window's sketch is empty: every key has failed zero times before
            elif bloom is None:
                before[g0:g1] = sketch.estimate(keys)
            else:
                # a key the filter never saw has failed zero times: no count-min collision for it
                before[g0:g1] = np.where(bloom.contains(keys), sketch.estimate(keys), 0)
            if bloom is not None:
                bloom.add(fails)
            sketch.add(fails)
        exact = run_sums(ordered_succeeded, starts) if passing.any() else None
        ordered_held, reached, since = self._held_in_order(
            rows["ts"].to_numpy(), order, ordered_failed, starts, lengths, before
        )
        # failures of keys not (yet) promoted wait, except in windows this batch closes: the
        # buffer would drop them at once (they are older than the watermark by a window)
        ordered_waiting = ordered_failed & ~ordered_held
        if exact is not None:
            ordered_waiting &= ~np.repeat(passing, lengths)
            if self.screen is not None:
                failing = ordered_failed & ordered_held
                view = ClosingGroups(
                    rows=rows,
                    order=order,
                    starts=starts,
                    lengths=lengths,
                    held=ordered_held,
                    failing=failing,
                    closing=passing,
                    failures=run_sums(failing, starts),
                    successes=exact,
                )
                keep = self._screened(view, group_wins)
                ordered_held &= np.repeat(keep, lengths)
            # successes are asked (:meth:`_successes_seen`) only of groups with held rows
            asked = passing & reached
            if self.screen is not None:
                asked &= keep
            if asked.any():
                self._passing.append((window_key(group_wins[asked], hashes[first[asked]]), exact[asked]))
        held = np.empty(n, dtype=bool)
        held[order] = ordered_held
        waiting = np.empty(n, dtype=bool)
        waiting[order] = ordered_waiting
        reached &= ~passing  # nothing of a closing window waits: there is nothing to pull
        if self.pending.chunks and reached.any():
            leaders, earliest = first[reached], since[reached]
            if self.pending.height <= PULL_CHECK_ROWS:
                # only keys with a failure waiting can pull one: usually a few of the promoted
                waiting_keys = np.concatenate([chunk["h"].to_numpy() for chunk in self.pending.chunks])
                near = among(hashes[leaders], waiting_keys)
                leaders, earliest = leaders[near], earliest[near]
            if leaders.size:
                self._pull(
                    Promoted(
                        wins[leaders],
                        hashes[leaders],
                        earliest,
                        rows["key"][leaders],
                    )
                )
        if waiting.any():
            # packed before filtering when most rows wait (under a flood every row does, and
            # filtering the whole rows first copied all their text for a moment); filtered first
            # when only a few do (windows this batch closes keep none waiting)
            if waiting.all():
                self.pending.add(self._pack(rows, hashes))
            elif 4 * int(waiting.sum()) < n:
                self.pending.add(self._pack(rows[np.flatnonzero(waiting)], hashes[waiting]))
            else:
                self.pending.add(self._pack(rows, hashes).filter(pl.Series(waiting)))
        self.held.add(_taken_rows(rows, held))
        if self.pending.chunks and watermarks:
            marks = {code: watermarks[path] for path, code in self.paths.items() if path in watermarks}
            if len(self.paths) == 1 and marks:  # one file (the usual scan): one number, not a lookup per row
                self.pending.drop_below("ts", next(iter(marks.values())) - self.horizon)
            else:
                mark = pl.col("path_id").replace_strict(marks, default=None, return_dtype=pl.Int64)
                self.pending.drop(pl.col("ts") < mark - self.horizon)

    def _held_in_order(
        self,
        ts: npt.NDArray[np.int64],
        order: npt.NDArray[np.intp],
        ordered_failed: npt.NDArray[np.bool_],
        starts: npt.NDArray[np.intp],
        lengths: npt.NDArray[np.intp],
        before: npt.NDArray[np.int64],
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        """Which rows (in group order: ``order`` of the stream's ``ts``; runs at ``starts`` of
        ``lengths``) to hold, which groups reached ``promote_at`` and, for those, the earliest
        time a pulled failure may have (``horizon`` before their first promoted row).

        A row is promoted once its (window, key) has failed ``promote_at`` times, counting the
        sketch's ``before`` and this batch's failures up to and including the row; earlier
        failures within ``horizon`` of a group's first promoted row come along. A group's count
        only grows, so it reaches ``promote_at`` when its total does: the rows are only walked
        for the groups that do (a spraying batch of the bench: 8% of its groups, 29% of its
        rows; the rest hold nothing), or all rows when most belong to such groups."""
        assert self.promote_at is not None
        n, count = ordered_failed.size, starts.size
        # failures of the row's (window, key) so far, this row included, as the sketch counts them
        counted = np.cumsum(ordered_failed, dtype=np.int64)
        offset = counted[starts] - ordered_failed[starts] - before  # so far = counted - offset
        reached = counted[starts + lengths - 1] - offset >= self.promote_at
        never = np.iinfo(np.int64).max
        since = np.full(count, never - self.horizon, dtype=np.int64)
        held = np.zeros(n, dtype=bool)
        if not reached.any():
            return held, reached, since
        covering = np.repeat(reached, lengths)
        walked, sub_lengths = reached, lengths[reached]
        at: npt.NDArray[np.intp] | slice
        if 2 * int(sub_lengths.sum()) > n:
            # most rows (a stuffing batch's fingerprints mostly reach): all of them, no gathers
            at, walked, sub_lengths, sub_starts = slice(None), np.ones(count, dtype=bool), lengths, starts
        else:
            at = np.flatnonzero(covering)  # rows of reaching groups, in order
            sub_starts = np.r_[0, np.cumsum(sub_lengths[:-1])].astype(np.intp)
        promoted = counted[at] - np.repeat(offset[walked], sub_lengths) >= self.promote_at
        at_ts = ts[order[at]]
        # earlier failures of a key promoted in this batch come along when within ``horizon`` of
        # its earliest promoted row: those of this batch here, those pending in :meth:`_pull`
        earliest = np.minimum.reduceat(np.where(promoted, at_ts, never), sub_starts) - self.horizon
        since[walked] = earliest
        pulled = ordered_failed[at] & covering[at] & (at_ts >= np.repeat(earliest, sub_lengths))
        held[at] = promoted | pulled
        return held, reached, since

    def _passing_groups(
        self, group_wins: npt.NDArray[np.int64], watermarks: Mapping[str, int]
    ) -> npt.NDArray[np.bool_]:
        """Which groups (``group_wins``: each one's window, ascending) lie in a window this batch
        opens and closes: nothing was counted for it before (no success sketch) and the slowest
        file's watermark, sketch horizon included, passes its end, so :meth:`_release` lets go of
        it at the end of the batch and no later row asks its counts. Found for all groups at once:
        a batch of a day's logins spans hundreds of such windows."""
        if not watermarks:
            return np.zeros(group_wins.size, dtype=bool)
        passing = group_wins < min(watermarks.values()) - self.horizon - self.window
        if self.success_sketches and passing.any():
            passing &= ~np.isin(group_wins, np.fromiter(self.success_sketches, dtype=np.int64))
        return passing

    def _screened(self, view: ClosingGroups, group_wins: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which groups of the batch to hold: all but the closing ones the screen turns down.
        The failing keys turned down are counted per window, for :meth:`evidence_sides`."""
        assert self.screen is not None
        keep = ~view.closing | self.screen(view)
        dropped = ~keep & (view.failures > 0)
        if self.fold_head is not None and dropped.any():
            wins = group_wins[dropped]  # ascending: groups are numbered in window order
            cuts = np.flatnonzero(np.r_[True, wins[1:] != wins[:-1]])
            counts = np.diff(np.r_[cuts, wins.size])
            screened = zip(wins[cuts].tolist(), counts.tolist(), strict=True)
            if not self._screened_keys:  # the usual case: one screen a batch, released at its end
                self._screened_keys = dict(screened)
            for win, count in screened:
                self._screened_keys[win] = self._screened_keys.get(win, 0) + count
        return keep

    def _pull(self, newly: Promoted) -> None:
        """Move pending rows of newly promoted keys (``newly``) into the held rows: joining the
        whole buffer at once copied all of it, every batch, which under a flood was the peak
        memory. A chunk's rows are matched to the promoted (window, key) by hash in numpy (one
        sorted lookup, no Polars join: those cost a fraction of a millisecond each, every batch);
        a chunk that loses none is kept as is."""
        order = np.lexsort((newly.wins, newly.hashes))  # by hash, then window
        hashes, wins, since = newly.hashes[order], newly.wins[order], newly.since[order]
        pulled = False
        for i, chunk in enumerate(self.pending.chunks):
            h = chunk["h"].to_numpy()
            # looked up a slice at a time: a flood's chunk holds millions of rows, and a position
            # per row for all of them at once was tens of MB
            found = [s + np.flatnonzero(among(h[s : s + PULL_SLICE], hashes)) for s in range(0, h.size, PULL_SLICE)]
            rows = np.concatenate(found)
            if rows.size == 0:
                continue
            ts = chunk["ts"].to_numpy()[rows]
            win = (ts // self.window) * self.window
            # the promoted entry of the row's (window, key): the first with its hash and window
            # (a key promoted in two windows at once has two entries, in window order)
            match = np.searchsorted(hashes, h[rows], side="left")
            spans = np.searchsorted(hashes, h[rows], side="right") - match
            for k in np.flatnonzero(spans > 1).tolist():
                same = np.flatnonzero(wins[match[k] : match[k] + spans[k]] == win[k])
                match[k] += int(same[0]) if same.size else 0
            hit = (wins[match] == win) & (ts >= since[match])
            if not hit.any():
                continue
            # ``rows`` ascend, so the pulled rows keep their stream order
            self.held.add(
                self._unpack(
                    chunk,
                    pl.Series(win[hit], dtype=pl.Int64),
                    newly.keys[order[match[hit]]],
                    at=rows[hit],
                )
            )
            kept = np.ones(chunk.height, dtype=bool)
            kept[rows[hit]] = False
            self.pending.chunks[i] = chunk.filter(pl.Series(kept))
            pulled = True
        if pulled:
            self.pending.chunks = [chunk for chunk in self.pending.chunks if chunk.height]

    def _sketch(self, bits: int) -> CountMinSketch | GrowingCountMin:
        return GrowingCountMin(bits, self.depth) if self.small else CountMinSketch(bits, self.depth)

    def _pack(self, rows: pl.DataFrame, hashes: npt.NDArray[np.uint64]) -> pl.DataFrame:
        """Failures in :data:`PENDING_SCHEMA`, ``hashes`` their keys' (new files get the next code)."""
        paths = rows["path"]
        first = paths[0]
        if (paths == first).all():  # the usual batch, from one file
            path_id = constant(self.paths.setdefault(first, len(self.paths)), rows.height, pl.UInt32())
        else:
            for path in paths.unique().to_list():
                self.paths.setdefault(path, len(self.paths))
            path_id = paths.replace_strict(self.paths, return_dtype=pl.UInt32)
        # built column by column: a query with an expression per column cost more to plan than
        # the few rows a quiet batch leaves waiting
        columns = {
            "seq": rows["seq"],
            "ts": rows["ts"],
            "path_id": path_id,
            "line": rows["line"],
            "offset": rows["offset"],
            "h": pl.Series(hashes, dtype=pl.UInt64),
            "user": rows["user"],
            "unknown": pl.Series(equals(rows["reason"], UNKNOWN_REASON)),
        }
        if not self.key_is_ip:
            columns["ip"] = rows["ip"]
        return pl.DataFrame([column.alias(name) for name, column in columns.items()])

    def _unpack(
        self, pending: pl.DataFrame, win: pl.Series, key: pl.Series, at: npt.NDArray[np.intp] | None = None
    ) -> pl.DataFrame:
        """Pulled pending rows (those at positions ``at`` of ``pending``, all when None; ``win``
        and ``key``: their window and their key's text) back in :data:`ROW_SCHEMA`: they are
        failures, due when their window ends; a reason other than an unknown account is not kept,
        nothing reads it. Types come back too (a pending chunk may be thinned).

        Built column by column from the gathered rows: a batch pulls a few rows, and one query
        with an expression per column cost more than half a millisecond to plan."""
        rows = pending if at is None else pending[at]
        count = rows.height
        names = {code: path for path, code in self.paths.items()}
        path = (
            constant(names[0], count, pl.String())
            if len(names) == 1
            else rows["path_id"].cast(pl.Int64).replace_strict(names, return_dtype=pl.String)
        )
        key = key.cast(pl.String)
        unknown = rows["unknown"].to_list()
        columns = {
            "win": win.cast(pl.Int64),
            "due": win.cast(pl.Int64) + self.window,
            "seq": rows["seq"].cast(pl.Int64),
            "ts": rows["ts"].cast(pl.Int64),
            "path": path,
            "line": rows["line"].cast(pl.Int64),
            "offset": rows["offset"].cast(pl.Int64),
            "key": key,
            "ip": key if self.key_is_ip else rows["ip"].cast(pl.String),
            "user": rows["user"].cast(pl.String),
            "outcome": constant("failure", count, pl.String()),
            "reason": pl.Series([UNKNOWN_REASON if flag else None for flag in unknown], dtype=pl.String),
        }
        return pl.DataFrame([column.alias(name) for name, column in columns.items()])

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
        version = state.get("version")
        if version not in (STATE_VERSION, KEY_TEXT_VERSION):
            raise ValueError(f"unsupported window state version {version!r}")
        self.clock.load_json(state["clock"])
        self.held.load_json(state["held"])
        if version == KEY_TEXT_VERSION:
            schema = {name: kind for name, kind in self.pending.schema.items() if name != "h"}
            old = pl.DataFrame(dict(state["pending"]), schema={**schema, "key": pl.String()})
            self.pending.rows = old.with_columns(h=pl.Series(hash_keys(old["key"]), dtype=pl.UInt64)).drop("key")
        else:
            self.pending.load_json(state["pending"])
        self.paths = {str(path): code for code, path in enumerate(state["paths"])}
        self.middle.load_json(state["middle"])
        load = GrowingCountMin.from_json if self.small else CountMinSketch.from_json
        self.sketches = {int(w): load(s) for w, s in state["sketches"].items()}
        self.success_sketches = {int(w): load(s) for w, s in state["success_sketches"].items()}
        # a window checkpointed without a filter goes on without one (estimates stay over-estimates)
        self.blooms = {int(w): GrowingBloom.from_json(b) for w, b in state.get("blooms", {}).items()}


def _taken_rows(rows: pl.DataFrame, taken: npt.NDArray[np.bool_]) -> pl.DataFrame:
    """The ``taken`` rows of ``rows``: gathered by position when they are few (a batch holds a
    tenth of its rows or less, and a boolean filter walks every row of every column)."""
    count = int(taken.sum())
    if count == rows.height:
        return rows
    if 8 * count < rows.height:
        return rows[pl.Series(np.flatnonzero(taken), dtype=pl.UInt32)]
    return rows.filter(pl.Series(taken))


class Promoted(NamedTuple):
    """The (window, key) groups a batch promoted whose key has failures pending (see
    :meth:`TumblingWindows._pull`)."""

    wins: npt.NDArray[np.int64]
    hashes: npt.NDArray[np.uint64]
    #: per group: the earliest time a pending failure is pulled from
    since: npt.NDArray[np.int64]
    #: per group: the key's text (pending rows keep only its hash)
    keys: pl.Series
