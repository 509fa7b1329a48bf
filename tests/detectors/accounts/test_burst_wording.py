"""How the burst detector words findings in bulk: times as ``datetime.isoformat`` writes them,
evidence in stream order."""

from __future__ import annotations

import numpy as np
import polars as pl

from watchhouse.detectors.accounts.failed_login_burst import _interleaved, iso_times
from watchhouse.detectors.accounts.reporting import at


def test_times_are_written_as_isoformat_writes_them() -> None:
    rng = np.random.default_rng(5)
    # whole seconds (no fraction written), microseconds, leap days and the turn of a year
    stamps = [
        0,
        1_709_164_800_000_000,  # 2024-02-29T00:00:00
        1_709_164_800_000_001,
        1_735_689_599_999_999,  # 2024-12-31T23:59:59.999999
        1_772_000_000_500_000,
        *(rng.integers(0, 4_102_444_800, 200) * 1_000_000).tolist(),
        *rng.integers(0, 4_102_444_800_000_000, 200).tolist(),
    ]
    assert iso_times(stamps) == [at(us).isoformat() for us in stamps]


def test_cited_successes_fall_in_stream_order_among_the_failures() -> None:
    """Successes cited with a burst's failures are placed as a sort by (burst, time, stream
    position) would place them, also where a success and failures share a timestamp (syslog
    times are often whole seconds)."""
    rng = np.random.default_rng(11)
    n_fail, n_shown = 3000, 200
    bursts = np.sort(rng.choice(np.arange(1, 400), 40, replace=False))

    def rows(n: int, seq_from: int) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "seg": rng.choice(bursts, n),
                "ts": 1_772_000_000_000_000 + rng.integers(0, 50, n) * 1_000_000,  # many equal times
                "seq": rng.permutation(np.arange(seq_from, seq_from + n)),
            }
        ).sort("seg", "ts", "seq")

    fails, shown = rows(n_fail, 0), rows(n_shown, n_fail)
    placed = _interleaved(fails, shown, bursts)
    assert placed is not None
    at_f, at_s = placed
    merged = np.empty(n_fail + n_shown, dtype=np.int64)
    merged[at_f] = fails["seq"].to_numpy()
    merged[at_s] = shown["seq"].to_numpy()
    expected = pl.concat([fails, shown]).sort("seg", "ts", "seq")["seq"].to_numpy()
    assert merged.tolist() == expected.tolist()
