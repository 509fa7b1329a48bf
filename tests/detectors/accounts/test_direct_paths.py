"""The numpy and column-by-column paths that replaced Polars queries and numpy calls in the
windowed detectors (run sums, numbering a batch), each held to what it replaced."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from watchhouse.detectors.accounts.direct_columns import run_sums
from watchhouse.detectors.accounts.tumbling import INPUT_SCHEMA, ROW_SCHEMA, TumblingWindows

US = 1_000_000
WINDOW = 600 * US


def test_run_sums_are_reduceat_sums() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        size = int(rng.integers(1, 400))
        values = rng.random(size) < 0.3
        # many short runs (summed cumulatively) and a few long ones (by ``reduceat``) alike
        runs = int(rng.integers(0, size)) if rng.random() < 0.5 else int(rng.integers(0, 1 + size // 20))
        cuts = rng.choice(np.arange(1, size), size=min(runs, size - 1), replace=False)
        starts = np.r_[0, np.sort(cuts)].astype(np.intp)
        assert run_sums(values, starts).tolist() == np.add.reduceat(values.astype(np.int64), starts).tolist()
        counts = rng.integers(0, 5, size)
        assert run_sums(counts, starts).tolist() == np.add.reduceat(counts, starts).tolist()


def _batch(*, null_time: bool, null_path: bool) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    size = 300
    ts = (1_772_000_000 * US + rng.integers(-3 * WINDOW, 3 * WINDOW, size)).tolist()
    paths: list[str | None] = ["auth.log"] * size
    if null_time:
        ts[5] = None
    if null_path:
        paths[7] = None
    return pl.DataFrame(
        {
            "ts": ts,
            "path": paths,
            "line": list(range(size)),
            "offset": [None] * size,
            "key": rng.choice(["10.0.0.1", "10.0.0.2"], size).tolist(),
            "ip": rng.choice(["10.0.0.1", "10.0.0.2"], size).tolist(),
            "user": rng.choice(["alice", "bob"], size).tolist(),
            "outcome": rng.choice(["failure", "success"], size).tolist(),
            "reason": [None] * size,
        },
        schema=INPUT_SCHEMA,
    )


@pytest.mark.parametrize(("null_time", "null_path"), [(False, False), (True, False), (False, True)])
def test_numbered_rows_are_what_the_one_query_made(null_time: bool, null_path: bool) -> None:
    frame = _batch(null_time=null_time, null_path=null_path)
    windows = TumblingWindows(window=WINDOW, lateness=0)
    win = (pl.col("ts") // WINDOW) * WINDOW
    expected = frame.select(
        win.alias("win"),
        (win + WINDOW).alias("due"),
        pl.int_range(40, 40 + frame.height, dtype=pl.Int64).alias("seq"),
        "ts",
        pl.col("path").fill_null(""),
        *list(ROW_SCHEMA)[5:],
    )
    numbered = windows._numbered(frame, 40)
    assert numbered.schema == expected.schema
    assert numbered.equals(expected)
