"""The vectorised counting helpers behind the burst tracker, against plain Python recounts.

``_near_counts`` decides which keys of a batch are worth an exact warm-up check (it must never
count fewer failures than there are) and ``grouping.ordered_groups`` orders a key's failures for that check;
both replaced per-epoch sketch calls and string sorts, so they are checked here on random data
against the obvious loops, including the rare case of two keys with one hash.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest

from watchhouse.detectors.accounts.burst_keys import ACCOUNT_KIND, IP_KIND
from watchhouse.detectors.accounts.burst_pending import _near_counts
from watchhouse.detectors.accounts.burst_tracker import BurstTracker
from watchhouse.detectors.accounts.grouping import ordered_groups

WINDOW = 600_000_000  # ten minutes in microseconds


@pytest.mark.parametrize("seed", range(5))
def test_near_counts_count_each_rows_key_in_its_epoch_and_both_neighbours(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3000
    keys = rng.integers(0, 2**63, 40, dtype=np.uint64)[rng.integers(0, 40, n)]
    # a day of failures, some far apart (sparse epochs), and rows without a key
    ts = 1_772_000_000_000_000 + rng.integers(0, 86_400_000_000, n) * rng.integers(1, 3, n)
    epochs = (ts // WINDOW) * WINDOW
    present = rng.random(n) < 0.9
    got = _near_counts(keys, epochs, present, WINDOW)
    seen = Counter(zip(keys[present].tolist(), (epochs[present] // WINDOW).tolist(), strict=True))
    expected = [
        sum(seen[(k, e // WINDOW + d)] for d in (-1, 0, 1)) if p else 0
        for k, e, p in zip(keys.tolist(), epochs.tolist(), present.tolist(), strict=True)
    ]
    assert got.tolist() == expected


def test_near_counts_of_nothing_present_are_zero() -> None:
    keys = np.array([1, 2], dtype=np.uint64)
    epochs = np.array([0, WINDOW], dtype=np.int64)
    assert _near_counts(keys, epochs, np.zeros(2, dtype=bool), WINDOW).tolist() == [0, 0]


def _check_groups(keys: pl.Series, ts: np.ndarray) -> None:
    order, group = ordered_groups(keys, ts)
    k, t, g = keys.gather(order).to_list(), ts[order].tolist(), group.tolist()
    for i in range(1, len(k)):
        if k[i] == k[i - 1]:
            assert g[i] == g[i - 1] and t[i] >= t[i - 1]
        else:
            assert g[i] == g[i - 1] + 1
    # numbered from 0, one number per distinct key: each key's rows are all together
    assert g[0] == 0 and g[-1] == len(set(k)) - 1


def test_key_groups_put_each_keys_rows_together_in_time_order() -> None:
    rng = np.random.default_rng(3)
    names = [f"web\x1fuser{i}" for i in range(30)] + [f"198.51.100.{i}" for i in range(30)]
    keys = pl.Series([names[i] for i in rng.integers(0, len(names), 500)])
    _check_groups(keys, rng.integers(0, 10**9, 500))


def test_key_groups_tell_apart_keys_whose_hashes_clash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every key hashing alike (as two real keys might, once in 2**64) must not merge their rows."""
    real_hash = pl.Series.hash
    monkeypatch.setattr(pl.Series, "hash", lambda self, seed=0: real_hash(self, seed) * 0)
    keys = pl.Series(["a", "b", "a", "c", "b", "a"])
    ts = np.array([5, 4, 3, 2, 1, 0])
    order, group = ordered_groups(keys, ts)
    assert keys.gather(order).to_list() == ["a", "a", "a", "b", "b", "c"]
    assert ts[order].tolist() == [0, 3, 5, 1, 4, 2]
    assert group.tolist() == [0, 0, 0, 1, 1, 2]


@pytest.mark.parametrize("seed", range(4))
def test_burst_shapes_in_one_pass_match_the_per_burst_rule(seed: int) -> None:
    """Peak window, threshold test and report start of many candidate bursts laid end to end
    equal :func:`peak_in_window` and ``qualified_at`` applied to each burst alone."""
    rng = np.random.default_rng(seed)
    tracker = BurstTracker(window=WINDOW, lateness=0, thresholds={IP_KIND: 6, ACCOUNT_KIND: 3})
    chains, rows = [], []
    start = 0
    for seg in range(60):
        n = int(rng.integers(3, 40))
        # dense and sparse stretches, ties included: some reach the threshold, some do not
        gaps = rng.choice([0, 1_000_000, 60_000_000, 400_000_000, 590_000_000], size=n)
        ts = 1_772_000_000_000_000 + seg * 10**12 + np.cumsum(gaps)
        kind = IP_KIND if seg % 2 else ACCOUNT_KIND
        chains.append((seg, kind, f"key{seg}", start, n))
        rows.append(ts)
        start += n
    ts_all = np.concatenate(rows).astype(np.int64)
    emit = pl.DataFrame(chains, schema=["seg", "kind", "key", "start", "n"], orient="row")
    one_pass = tracker._shapes(ts_all, emit)
    each = tracker._shapes_each(ts_all, emit)
    assert 0 < one_pass.height < emit.height
    assert one_pass.to_dicts() == each.to_dicts()
