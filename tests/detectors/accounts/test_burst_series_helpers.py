"""The series shortcuts of the burst detector agree with the queries they replace."""

from __future__ import annotations

import polars as pl

from watchhouse.detectors.accounts.burst_keys import file_watermark
from watchhouse.detectors.accounts.burst_tracker import _recent
from watchhouse.detectors.accounts.direct_columns import filtered


def test_filtered_is_a_frame_filter_null_as_false() -> None:
    frame = pl.DataFrame({"a": [1, 2, 3, 4], "b": ["w", None, "y", "z"]})
    mask = pl.Series([True, None, False, True])
    assert filtered(frame, mask).equals(frame.filter(mask))
    assert filtered(frame.clear(), pl.Series([], dtype=pl.Boolean)).schema == frame.schema


def test_recent_matches_the_watermark_expression() -> None:
    rows = pl.DataFrame({"ts": [5, 10, 15, 1], "path": ["a", "a", "a", "b"]})
    with_nulls = pl.DataFrame({"ts": [5, None, 15], "path": ["a", "a", None]})
    for frame in (rows, with_nulls):
        for marks in ({"a": 10}, {"a": 10, "b": 0}, {"c": 3}):
            expected = frame.select((pl.col("ts") >= file_watermark(marks)).fill_null(True)).to_series()
            assert _recent(frame, marks).tolist() == expected.to_list()
