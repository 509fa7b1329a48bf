"""Property tests for the bounded-state sketches: the guarantees the detectors lean on."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.detectors.accounts.sketches import CountMinSketch, HyperLogLog, hash_keys

keys = st.lists(st.text(alphabet="0123456789abcdef.:", min_size=1, max_size=12), min_size=1, max_size=300)


@settings(max_examples=40, deadline=None)
@given(keys)
def test_count_min_never_under_counts(values: list[str]) -> None:
    sketch = CountMinSketch(width_bits=6, depth=3)  # tiny, so collisions really happen
    sketch.add(hash_keys(values))
    truth = Counter(values)
    estimate = sketch.estimate(hash_keys(list(truth)))
    assert (estimate >= np.array(list(truth.values()))).all()
    assert sketch.total == len(values)


@settings(max_examples=20, deadline=None)
@given(keys, keys)
def test_merging_equals_counting_together(a: list[str], b: list[str]) -> None:
    left, right, both = CountMinSketch(8), CountMinSketch(8), CountMinSketch(8)
    left.add(hash_keys(a))
    right.add(hash_keys(b))
    both.add(hash_keys(a + b))
    left.merge(right)
    assert np.array_equal(left.table, both.table)
    h1, h2, h12 = HyperLogLog(8), HyperLogLog(8), HyperLogLog(8)
    h1.add(hash_keys(a))
    h2.add(hash_keys(b))
    h12.add(hash_keys(a + b))
    h1.merge(h2)
    assert np.array_equal(h1.registers, h12.registers)


def test_hyperloglog_is_within_a_few_percent() -> None:
    for n in (50, 5_000, 200_000):
        sketch = HyperLogLog(12)
        sketch.add(hash_keys(pl.Series([f"198.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(n)])))
        assert abs(sketch.estimate() - n) / n < 0.06, n


def test_sketches_survive_a_json_round_trip() -> None:
    cms, hll = CountMinSketch(10), HyperLogLog(10)
    values = hash_keys([f"k{i % 37}" for i in range(1000)])
    cms.add(values)
    hll.add(values)
    cms2 = CountMinSketch.from_json(json.loads(json.dumps(cms.to_json())))
    hll2 = HyperLogLog.from_json(json.loads(json.dumps(hll.to_json())))
    assert np.array_equal(cms.estimate(values), cms2.estimate(values)) and hll2.estimate() == hll.estimate()


def test_memory_is_fixed_whatever_the_key_count() -> None:
    sketch = CountMinSketch(12)
    before = sketch.nbytes
    sketch.add(hash_keys([f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(300_000)]))
    assert sketch.nbytes == before and sketch.estimate(hash_keys(["never-seen"]))[0] < 300


@settings(max_examples=40, deadline=None)
@given(keys, st.integers(1, 300))
def test_small_count_min_saturates_but_never_under_counts(values: list[str], repeat: int) -> None:
    sketch = CountMinSketch(width_bits=6, depth=3, small=True)
    for _ in range(2):  # two adds: saturation must hold across calls too
        sketch.add(hash_keys(values * (repeat // 2 + 1)))
    truth = Counter(values * 2 * (repeat // 2 + 1))
    estimate = sketch.estimate(hash_keys(list(truth)))
    assert (estimate >= np.minimum(np.array(list(truth.values())), 255)).all()
    assert sketch.table.dtype == np.uint8 and int(sketch.table.max()) <= 255
    restored = CountMinSketch.from_json(json.loads(json.dumps(sketch.to_json())))
    assert np.array_equal(restored.table, sketch.table) and restored.small


@settings(max_examples=30, deadline=None)
@given(keys, st.integers(1, 40))
def test_small_count_min_counts_alike_in_one_add_or_many(values: list[str], repeat: int) -> None:
    """A large add counts a small table in one pass, small adds by sorting the hashes: the table
    must come out the same byte for byte, saturation included."""
    hashes = hash_keys(values * repeat)
    whole = CountMinSketch(width_bits=6, depth=3, small=True)
    whole.add(hashes)  # 3 x 8 x the hashes >= the 192 counters: the one-pass path from 8 hashes on
    pieces = CountMinSketch(width_bits=6, depth=3, small=True)
    for start in range(0, hashes.size, 7):
        pieces.add(hashes[start : start + 7])  # 7 x 3 x 8 < 192: always the sorting path
    assert np.array_equal(whole.table, pieces.table) and whole.total == pieces.total
    assert whole.table.dtype == np.uint8
