"""The detector protocol of the judges of closed tumbling windows (password spraying, credential
stuffing): login rows in, findings out, windows and the memory of fired keys checkpointed.

Why apart from :mod:`.tumbling`: the windows (admission, promotion, pending and held rows,
release) are one concern and the detector plumbing around them (which rows a batch hands over,
which groups a judge's pre-filter starts from, flushing and checkpoints) another; each judge
subclasses :class:`WindowedLoginDetector` and only says how it keys, builds and judges windows.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.core.detector import Detector, JSONState
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, TIMESTAMP_FIELD, EventBatch
from watchhouse.core.findings import Finding
from watchhouse.core.gc_pause import paused_gc
from watchhouse.detectors.accounts.direct_columns import equals, integers, present
from watchhouse.detectors.accounts.grouping import KeyGroups
from watchhouse.detectors.accounts.tumbling import TumblingWindows


def login_rows(batch: EventBatch, key: str) -> pl.DataFrame:
    """The login attempts of an ``auth`` batch as :class:`TumblingWindows` takes them, keyed by ``key``.

    Only decided attempts of a named account count (a failure or a success with ``user.name``);
    ``key`` is the column a detector groups by (the source address, the user agent ...).
    """
    # narrowed first: filtering the whole event frame copied every column of it; column by
    # column, as renaming in a ``select`` was a query plan (0.2 ms a batch) for what costs nothing
    events = batch.to_polars()
    rows = pl.DataFrame(
        [
            events[TIMESTAMP_FIELD].cast(pl.Int64).alias("ts"),
            events[PATH_FIELD].alias("path"),
            events[LINE_FIELD].alias("line"),
            events[OFFSET_FIELD].alias("offset"),
            events[key].alias("key"),
            events["source.ip"].alias("ip"),
            events["user.name"].alias("user"),
            events["event.outcome"].alias("outcome"),
            events["event.reason"].alias("reason"),
        ]
    )
    # two equality tests: ``is_in`` with a list cost four times as much on a batch of logins
    decided = equals(rows["outcome"], "failure") | equals(rows["outcome"], "success")
    decided &= present(rows["user"])
    return rows if decided.all() else rows.filter(pl.Series(decided))


class GroupFailures(NamedTuple):
    """Failure counts per (window, key) group of a frame of window rows (see
    :meth:`WindowedLoginDetector._group_failures`)."""

    groups: KeyGroups
    #: per row: whether it is a failure
    failed: npt.NDArray[np.bool_]
    #: per group: failures, and successes (the more of those seen before and of its own rows)
    failures: npt.NDArray[np.int64]
    successes: npt.NDArray[np.int64]


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
        parts = self._windows.update(login_rows(batch, self.KEY_COLUMN))
        # findings cite thousands of references a batch, acyclic tuples the cycle collector
        # would otherwise walk again and again while they are made (half the cost of citing)
        with paused_gc():
            return [f for part in parts for f in self._judge(part)]

    def _group_failures(self, rows: pl.DataFrame) -> GroupFailures:
        """What the judges' pre-filters (``_plausible``) start from: the (window, key) groups of
        ``rows`` by one numpy pass over hashes, with their failures and successes.

        Why: most groups are ordinary logins, and grouping all of them by their string key in
        Polars was most of judging; a pre-filter on these counts leaves the exact Polars
        statistics only the groups that can fire."""
        groups = self._windows.groups_of(rows)
        failed = equals(rows["outcome"], "failure")
        failures = groups.sum(failed)
        successes = np.maximum(groups.max(integers(rows["successes_seen"])), groups.lengths - failures)
        return GroupFailures(groups, failed, failures, successes)

    def _may_fire(
        self, groups: KeyGroups, candidate: npt.NDArray[np.bool_], opening: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.bool_]:
        """:meth:`KeyGroups.may_fire` with the keys that fired before, asked only when a candidate
        does not open on its own (hashing the remembered keys is a query of its own)."""
        if not (candidate & ~opening).any():
            return candidate
        return groups.may_fire(candidate, opening, self._fired)

    def _forget_fired(self, before: int) -> None:
        """Forget the keys whose last firing window started before ``before``: only the window
        right after a firing one lowers the bar, and the memory must not grow with every key."""
        self._fired = {k: w for k, w in self._fired.items() if w >= before}

    def finalize(self) -> list[Finding]:
        parts = self._windows.flush()
        with paused_gc():  # see detect
            out = [f for part in parts for f in self._judge(part)]
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
