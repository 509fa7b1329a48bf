"""The readers' calendar arithmetic agrees with Python's own calendar on every date and clock,
real or impossible (the byte-level timestamp paths rely on it to refuse what a parser would)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.ingest.civil_time import days_from_civil, valid_clock

parts = st.tuples(
    st.integers(1, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
)


@settings(max_examples=500)
@given(st.lists(parts, min_size=1, max_size=50))
def test_valid_clock_and_day_count_match_datetime(rows: list[tuple[int, int, int, int, int, int]]) -> None:
    columns = [np.array(column, dtype=np.int64) for column in zip(*rows, strict=True)]
    valid = valid_clock(*columns)
    days = days_from_civil(*columns[:3])
    for i, (year, month, day, hour, minute, second) in enumerate(rows):
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            assert not valid[i], rows[i]
            continue
        assert valid[i], rows[i]
        assert days[i] == (moment.date() - datetime(1970, 1, 1, tzinfo=UTC).date()).days, rows[i]


def test_leap_days() -> None:
    year = np.array([2024, 2023, 1900, 2000], dtype=np.int64)
    feb29 = valid_clock(year, np.full(4, 2), np.full(4, 29), *(np.zeros(4, dtype=np.int64),) * 3)
    assert feb29.tolist() == [True, False, False, True]
