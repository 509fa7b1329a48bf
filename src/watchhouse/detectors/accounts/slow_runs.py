"""Paced runs of failed logins in arrays: the run rule over one batch, and the runs kept open.

Why arrays and a frame of failures instead of a Python record per run: a day of logins leaves
hundreds of runs open at the end of every batch (users retrying, offices behind one address), and
building, replaying and storing a Python object per run was most of the detector's time. A run
that has not been reported yet has fewer than ``single_account_attempts`` failures (it would have
qualified at that many), so it is cheap to keep its failures themselves: prepended to the next
batch's failures of its address, they give the same run again under the same rule, as if the
input had never been cut. A reported run keeps only its last two failures (its last gap, which
the next gap is compared with, and the failure a broken run restarts from) and a flag that it was
reported. Python then touches only the runs that qualify (one finding each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.sketches import U64
from watchhouse.detectors.accounts.slow_sightings import FAILURE_SCHEMA

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
#: an open run's failures: the address (hash and text), the run's place in the order runs were
#: last extended (``rank``, shared by its rows), whether it was reported, and each failure
RUN_SCHEMA: dict[str, pl.DataType] = {
    "h": pl.UInt64(),
    "ip": pl.String(),
    "rank": pl.Int64(),
    "alerted": pl.Boolean(),
    **FAILURE_SCHEMA,
}


@dataclass(frozen=True, slots=True)
class PaceRule:
    """The run rule's numbers (event time in microseconds); see :class:`.SlowBruteForceDetector`."""

    min_gap: int
    max_gap: int
    ratio: float
    min_attempts: int
    single_attempts: int


@dataclass(frozen=True, slots=True)
class Paced:
    """The rule applied to rows grouped by address, each group in stream order.

    ``anchor``: the row each row's run starts at (rows of one run share it; a failure shared by a
    broken run and the one restarting from it belongs to the later run's anchor only through the
    rows after it). ``links``: paced gaps in the run up to the row (attempts - 1). ``qualifies``:
    the run has enough failures and accounts at this failure and was not reported before."""

    anchor: I64
    links: I64
    qualifies: Mask

    def first_qualifying(self) -> I64:
        """Each run's first qualifying row (a run is reported once, when it first qualifies)."""
        q = np.flatnonzero(self.qualifies)
        if q.size:
            q = q[np.r_[True, self.anchor[q][1:] != self.anchor[q][:-1]]]
        return q


def pace(
    rule: PaceRule,
    ts: I64,
    fail: Mask,
    account: I64,
    first: Mask,
    reported: Mask,
) -> Paced:
    """Apply ``rule`` to rows grouped by address (``first`` marks each group's first row).

    A failure *links* to the previous row of its group when that row is a failure (a success ends
    a run) and the gap is in pacing range; a link *continues* the run when the previous row linked
    too and the two gaps are within the ratio. A failure that does not link starts a run; a link
    that does not continue starts one at the previous failure. ``reported`` marks rows that start
    a run reported in an earlier batch (it is not reported again)."""
    m = ts.size
    idx = np.arange(m, dtype=np.int64)
    gap = np.zeros(m, dtype=np.int64)
    gap[1:] = ts[1:] - ts[:-1]
    has_prev = np.zeros(m, dtype=bool)
    has_prev[1:] = fail[:-1]
    has_prev &= ~first
    link = fail & has_prev & (gap >= rule.min_gap) & (gap <= rule.max_gap)
    prev_link = np.zeros(m, dtype=bool)
    prev_link[1:] = link[:-1]
    prev_gap = np.zeros(m, dtype=np.int64)
    prev_gap[1:] = gap[:-1]
    cont = link & prev_link & (prev_gap <= gap * rule.ratio) & (gap <= prev_gap * rule.ratio)
    anchor = np.full(m, -1, dtype=np.int64)
    own = fail & ~link
    anchor[own] = idx[own]
    restart = link & ~cont
    anchor[restart] = idx[restart] - 1
    anchor = np.maximum.accumulate(anchor)
    links = idx - anchor
    # two accounts in the run: a failure after its anchor names another account than the anchor's
    start = np.maximum(anchor, 0)
    differs = fail & (account != account[start])
    multi = np.maximum.accumulate(np.where(differs, idx, -1)) > anchor
    attempts = links + 1
    qualifies = fail & (attempts >= rule.min_attempts) & (multi | (attempts >= rule.single_attempts)) & ~reported[start]
    return Paced(anchor, links, qualifies)


def spans(begin: I64, end: I64) -> I64:
    """The positions ``begin[i]..end[i]`` (inclusive) of every span, one after another."""
    lengths = end - begin + 1
    if lengths.size == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(begin - (np.cumsum(lengths) - lengths), lengths)
    out: I64 = offsets + np.arange(int(lengths.sum()), dtype=np.int64)
    return out


class OpenRuns:
    """Runs still going at the end of a batch, as the failures they are made of (one frame).

    Rows are kept in the order their runs were last extended (``rank``), oldest first, and in
    stream order within a run: the cap and the expiry drop runs from the front."""

    def __init__(self) -> None:
        self.frame = pl.DataFrame(schema=RUN_SCHEMA)
        self.next_rank = 0

    def __len__(self) -> int:
        return int(self._starts().size)

    def _starts(self) -> I64:
        rank = self.frame["rank"].to_numpy()
        return np.flatnonzero(np.r_[True, rank[1:] != rank[:-1]]) if rank.size else np.zeros(0, dtype=np.int64)

    def hashes(self) -> U64:
        """The address hash of every kept failure (repeated per run)."""
        return self.frame["h"].to_numpy()

    def add(self, failures: pl.DataFrame, h: U64, ip: pl.Series, alerted: Mask, run_of: I64) -> None:
        """Append runs: their ``failures`` (:data:`.FAILURE_SCHEMA`, in stream order within a run),
        each row's address ``h`` and ``ip``, its run's ``alerted`` flag, and ``run_of`` numbering
        each row's run 0, 1, ... in the order the runs were extended."""
        if failures.height == 0:
            return
        added = pl.DataFrame(
            [
                pl.Series("h", h, dtype=pl.UInt64),
                ip.alias("ip"),
                pl.Series("rank", self.next_rank + run_of, dtype=pl.Int64),
                pl.Series("alerted", alerted, dtype=pl.Boolean),
                *(failures.get_column(name) for name in FAILURE_SCHEMA),
            ]
        )
        self.next_rank += int(run_of.max()) + 1
        self.frame = pl.concat([self.frame, added])

    def cap(self, max_runs: int) -> None:
        """Keep at most ``max_runs`` runs, dropping the least recently extended."""
        starts = self._starts()
        if starts.size > max_runs:
            self.frame = self.frame.slice(int(starts[starts.size - max_runs]))

    def take(self, hashes: U64, ips: pl.Series) -> tuple[pl.DataFrame, I64]:
        """Remove and return the runs of the addresses ``hashes`` and ``ips`` (distinct addresses):
        their rows (in the kept order) and the address each belongs to (a position in ``ips``).
        Addresses are matched by hash, then by text (two addresses with one hash stay apart)."""
        if self.frame.height == 0 or hashes.size == 0:
            return self.frame.clear(), np.zeros(0, dtype=np.int64)
        sorter = np.argsort(hashes)
        ordered = hashes[sorter]
        if bool((ordered[1:] == ordered[:-1]).any()):  # two addresses with one hash: by text
            return self._take_by_text(hashes, ips)
        kept = self.hashes()
        pos = np.minimum(np.searchsorted(ordered, kept), ordered.size - 1)
        rows = np.flatnonzero(ordered[pos] == kept)
        owner = sorter[pos[rows]]
        if rows.size:
            same = (self.frame["ip"][rows] == ips[owner]).to_numpy()
            rows, owner = rows[same], owner[same]
        if rows.size == 0:
            return self.frame.clear(), np.zeros(0, dtype=np.int64)
        taken = self.frame[rows]
        keep = np.ones(self.frame.height, dtype=bool)
        keep[rows] = False
        self.frame = self.frame[np.flatnonzero(keep)]
        return taken, owner.astype(np.int64)

    def _take_by_text(self, hashes: U64, ips: pl.Series) -> tuple[pl.DataFrame, I64]:
        groups = pl.DataFrame({"h": pl.Series(hashes, dtype=pl.UInt64), "ip": ips, "_g": np.arange(hashes.size)})
        taken = self.frame.with_row_index("_row").join(groups, on=["h", "ip"], how="inner", maintain_order="left")
        keep = np.ones(self.frame.height, dtype=bool)
        keep[taken["_row"].to_numpy()] = False
        self.frame = self.frame[np.flatnonzero(keep)]
        return taken.select(list(RUN_SCHEMA)), taken["_g"].to_numpy().astype(np.int64)

    def expire(self, horizon: int, max_seen: Mapping[str, int]) -> None:
        """Drop runs, oldest first, that their last failure's file has left behind for good: the
        file's newest failure is more than ``horizon`` after the run's last one. The first run
        still alive stops the drop (as a queue expires)."""
        if self.frame.height == 0:
            return
        starts = self._starts()
        lasts = np.r_[starts[1:] - 1, self.frame.height - 1]
        last_ts = self.frame["ts"].to_numpy()[lasts]
        if len(max_seen) == 1:  # one file (every run's last failure is from it)
            seen = np.full(lasts.size, next(iter(max_seen.values())), dtype=np.int64)
        else:
            newest = (
                self.frame["path"].gather(lasts).replace_strict(dict(max_seen), default=None, return_dtype=pl.Int64)
            )
            seen = newest.fill_null(pl.Series(last_ts)).to_numpy()
        alive = np.flatnonzero(last_ts + horizon >= seen)
        if alive.size == 0:
            self.frame = self.frame.clear()
        elif alive[0] > 0:
            self.frame = self.frame.slice(int(starts[alive[0]]))

    def to_json(self) -> dict[str, Any]:
        return {"next_rank": self.next_rank, "rows": self.frame.to_dict(as_series=False)}

    def load_json(self, state: Mapping[str, Any]) -> None:
        self.frame = pl.DataFrame(dict(state["rows"]), schema=RUN_SCHEMA)
        self.next_rank = int(state["next_rank"])
