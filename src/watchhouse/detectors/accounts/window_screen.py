"""Screening windows a batch opens and closes, before their rows are held.

Why: a batch of a day's logins spans a couple of dozen tumbling windows, and nearly all of them
open and close within the batch (the watermark passes them before the batch ends). Their rows
used to be held, released and grouped again, only for the judge's pre-filter to find that most
(window, key) groups cannot fire. The counts that pre-filter reads (failures, successes,
distinct accounts or sources) are already at hand while :class:`.TumblingWindows` promotes the
batch: for such a window nothing came before the batch and nothing can come after it, so they
are final, and a group that fails the judge's lower bar is never held at all.

Distinct values are told apart by the top bits (at least 46) of their 64-bit hash, as in the
judges' pre-filters: a group is screened out wrongly only if two of its values agree in those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.accounts.sketches import hash_keys


@dataclass(frozen=True)
class ClosingGroups:
    """The (window, key) groups of one batch, in the packed order of
    :func:`~watchhouse.detectors.accounts.grouping.group_order`, with the counts a judge's lower
    bar reads for the rows that would be held. Only the groups flagged ``closing`` (their window
    opens and closes in this batch) are screened; the others are kept whatever a screen says."""

    #: the batch rows (:data:`~watchhouse.detectors.accounts.tumbling.ROW_SCHEMA`)
    rows: pl.DataFrame
    #: row positions in group order, and where each group's run begins and how long it is
    order: npt.NDArray[np.intp]
    starts: npt.NDArray[np.intp]
    lengths: npt.NDArray[np.intp]
    #: per ordered row: whether it would be held (its key reached ``promote_at``, or it is an
    #: earlier failure pulled along), and whether it is a failure that would be held
    held: npt.NDArray[np.bool_]
    failing: npt.NDArray[np.bool_]
    #: per group: its window opens and closes in this batch
    closing: npt.NDArray[np.bool_]
    #: per group: held failures, and successes (all of the window's: it is seen whole)
    failures: npt.NDArray[np.int64]
    successes: npt.NDArray[np.int64]

    @property
    def count(self) -> int:
        return int(self.starts.size)

    def distinct(self, column: str, among: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """Per group flagged by ``among``, how many distinct values of ``column`` its held
        failures hold (null is one value, as in Polars' ``n_unique``); zero elsewhere. Only the
        flagged groups' values are hashed: most groups never reach this question."""
        if not among.any():
            return np.zeros(self.count, dtype=np.int64)
        # the ordered rows of the flagged groups only: most rows belong to groups never asked
        groups = np.flatnonzero(among)
        sizes = self.lengths[groups]
        offsets = np.cumsum(sizes) - sizes
        rows = np.repeat(self.starts[groups] - offsets, sizes) + np.arange(int(sizes.sum()))
        failing = self.failing[rows]
        if not failing.any():
            return np.zeros(self.count, dtype=np.int64)
        group_bits = max(1, self.count.bit_length())
        group = np.repeat(groups.astype(np.uint64), sizes)[failing]
        hashes = hash_keys(self.rows[column][self.order[rows[failing]]])
        packed = (group << np.uint64(64 - group_bits)) | (hashes >> np.uint64(group_bits))
        packed.sort()
        fresh = np.r_[True, packed[1:] != packed[:-1]]
        found = (packed[fresh] >> np.uint64(64 - group_bits)).astype(np.intp)
        return np.bincount(found, minlength=self.count).astype(np.int64)


#: a judge's lower bar over closing groups: which of them may fire (only ``closing`` ones are read)
Screen = Callable[[ClosingGroups], npt.NDArray[np.bool_]]
