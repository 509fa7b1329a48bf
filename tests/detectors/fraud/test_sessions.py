"""Bursts in event time: split at pauses, cut at span boundaries, released only when complete."""

from __future__ import annotations

import polars as pl

from watchhouse.detectors.fraud.sessions import BurstSessions

S = 1_000_000  # microseconds


def rows(times: list[float], key: str = "k", path: str = "a.log") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": [round(t * S) for t in times],
            "path": [path] * len(times),
            "line": list(range(1, len(times) + 1)),
            "offset": [None] * len(times),
            "key": [key] * len(times),
        },
        schema={"ts": pl.Int64, "path": pl.String, "line": pl.Int64, "offset": pl.Int64, "key": pl.String},
    )


def bursts(frame: pl.DataFrame) -> list[list[int]]:
    groups = frame.sort("ts").group_by("key", "seg", "burst", maintain_order=True).agg(pl.col("line"))
    return [list(lines) for lines in groups["line"].to_list()]


def test_a_pause_longer_than_the_gap_splits_a_burst() -> None:
    sessions = BurstSessions({}, gap=60 * S, span=3600 * S, lateness=0)
    released = sessions.update(rows([0, 30, 80, 200, 230]))
    assert bursts(released) == [[1, 2, 3]]  # 80 -> 200 is a pause; the second burst may go on
    assert bursts(sessions.flush()) == [[4, 5]]


def test_a_burst_without_pauses_is_cut_at_the_span() -> None:
    sessions = BurstSessions({}, gap=60 * S, span=300 * S, lateness=0)
    released = sessions.update(rows([float(t) for t in range(0, 700, 50)]))
    assert bursts(released) == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]  # 0-250 and 300-550 are done
    assert sessions.held_rows == 2


def test_late_rows_are_ignored_and_state_round_trips() -> None:
    sessions = BurstSessions({}, gap=60 * S, span=3600 * S, lateness=10 * S)
    sessions.update(rows([100, 110]))
    restored = BurstSessions({}, gap=60 * S, span=3600 * S, lateness=10 * S)
    restored.load_json(sessions.to_json())
    restored.update(rows([50, 120], key="k"))  # 50 is older than the watermark (110 - 10): dropped
    assert bursts(restored.flush()) == [[1, 2, 2]]  # lines 1, 2 of the first input and 2 of the second
