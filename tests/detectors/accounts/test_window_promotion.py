"""Which rows a batch holds once their (window, key) reaches ``promote_at``
(``TumblingWindows._held_in_order``): it walks only the rows of groups that reach the bar, or
all rows when most do; these tests hold both ways to the rule, walked row by row in Python."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.detectors.accounts.tumbling import TumblingWindows

US = 1_000_000
T0 = 1_772_000_400 * US


def _rule(
    windows: TumblingWindows,
    ts: list[int],
    failed: list[bool],
    lengths: list[int],
    before: list[int],
) -> tuple[list[bool], list[bool], dict[int, int]]:
    """The promotion rule, one group and one row at a time (rows already in group order): a row
    is promoted once its group's failures so far (``before`` included) reach ``promote_at``; a
    failure of a group that reached it is held too when within ``horizon`` of the group's
    earliest promoted row."""
    assert windows.promote_at is not None
    held: list[bool] = []
    reached: list[bool] = []
    since: dict[int, int] = {}
    start = 0
    for g, length in enumerate(lengths):
        count, promoted = before[g], []
        for i in range(start, start + length):
            count += failed[i]
            promoted.append(count >= windows.promote_at)
        reached.append(promoted[-1])
        if promoted[-1]:
            since[g] = min(ts[start + j] for j in range(length) if promoted[j]) - windows.horizon
        for j in range(length):
            i = start + j
            held.append(promoted[j] or (failed[i] and promoted[-1] and ts[i] >= since[g]))
        start += length
    return held, reached, since


@st.composite
def _batches(draw: st.DrawFn) -> tuple[list[int], list[bool], list[int], list[int], int]:
    """Groups of 1..6 rows in group order, failures with a chosen density (sparse batches walk
    a few groups, dense ones all rows), sketch counts before the batch, times within an hour."""
    lengths = draw(st.lists(st.integers(1, 6), min_size=1, max_size=40))
    n = sum(lengths)
    density = draw(st.sampled_from([0.2, 0.5, 0.9]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    failed = (rng.random(n) < density).tolist()
    before = rng.integers(0, 3, len(lengths)).tolist()
    ts = (T0 + rng.integers(0, 3_600, n) * US).tolist()
    promote_at = draw(st.integers(1, 4))
    return ts, failed, lengths, before, promote_at


@settings(max_examples=200, deadline=None)
@given(_batches())
def test_held_rows_follow_the_rule(batch: tuple[list[int], list[bool], list[int], list[int], int]) -> None:
    ts, failed, lengths, before, promote_at = batch
    windows = TumblingWindows(window=600 * US, lateness=60 * US, promote_at=promote_at, horizon=300 * US)
    n = len(ts)
    # rows arrive in some stream order; ``order`` puts them in group order
    order: npt.NDArray[np.intp] = np.random.default_rng(n).permutation(n).astype(np.intp)
    stream_ts = np.zeros(n, dtype=np.int64)
    stream_ts[order] = ts
    starts = np.r_[0, np.cumsum(lengths[:-1])].astype(np.intp)
    held, reached, since = windows._held_in_order(
        stream_ts,
        order,
        np.array(failed, dtype=bool),
        starts,
        np.array(lengths, dtype=np.intp),
        np.array(before, dtype=np.int64),
    )
    want_held, want_reached, want_since = _rule(windows, ts, failed, lengths, before)
    assert held.tolist() == want_held
    assert reached.tolist() == want_reached
    assert {g: int(since[g]) for g in np.flatnonzero(reached).tolist()} == want_since


def test_sparse_and_dense_batches_both_walked() -> None:
    """One batch where a single group of many reaches the bar (only its rows walked) and one
    where every group does (all rows walked): both hold exactly the promoted groups' rows."""
    windows = TumblingWindows(window=600 * US, lateness=60 * US, promote_at=3, horizon=300 * US)
    for reaching in ([0], list(range(10))):
        lengths = np.full(10, 4, dtype=np.intp)
        failed = np.zeros(40, dtype=bool)
        for g in reaching:
            failed[4 * g : 4 * g + 3] = True
        ts = T0 + np.arange(40, dtype=np.int64) * US
        order = np.arange(40, dtype=np.intp)
        held, reached, _ = windows._held_in_order(
            ts, order, failed, np.arange(0, 40, 4, dtype=np.intp), lengths, np.zeros(10, dtype=np.int64)
        )
        assert np.flatnonzero(reached).tolist() == reaching
        # the three failures of a reaching group are held (the first two pulled along) and its
        # success after the third too; nothing else
        assert np.flatnonzero(held).tolist() == [4 * g + j for g in reaching for j in range(4)]
