"""Pending failures pulled into the held rows when their key is promoted
(``TumblingWindows._pull``) are matched by hash in numpy; these tests hold it to the Polars join
it replaced, and to the rule itself on a key promoted in two windows by one batch."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from watchhouse.detectors.accounts.tumbling import INPUT_SCHEMA, Promoted, TumblingWindows

US = 1_000_000
T0 = 1_772_000_400 * US  # a multiple of 600 s: window edges at T0 + k * 600 s


def _pull_by_join(self: TumblingWindows, newly: Promoted) -> None:
    """The former ``_pull``: the pending rows whose hash is promoted, joined on (window, hash)."""
    promoted = pl.DataFrame(
        {
            "win": pl.Series(newly.wins, dtype=pl.Int64),
            "h": pl.Series(newly.hashes, dtype=pl.UInt64),
            "key": newly.keys,
            "since": pl.Series(newly.since, dtype=pl.Int64),
        }
    )
    pending = pl.concat(self.pending.chunks, how="vertical_relaxed").with_row_index("at")
    pulled = (
        pending.with_columns(win=(pl.col("ts") // self.window) * self.window)
        .join(promoted, on=["win", "h"], how="inner")
        .filter(pl.col("ts") >= pl.col("since"))
        .sort("at")
    )
    if pulled.height:
        self.held.add(self._unpack(pulled.drop("at", "win", "key"), pulled["win"], pulled["key"]))
        gone = pulled["seq"].cast(pl.Int64).implode()
        self.pending.chunks = [
            c for chunk in self.pending.chunks if (c := chunk.filter(~pl.col("seq").is_in(gone))).height
        ]


def _rows(ts: list[int], keys: list[str], offsets: list[int | None] | None = None) -> pl.DataFrame:
    n = len(ts)
    return pl.DataFrame(
        {
            "ts": ts,
            "path": "auth.log",
            "line": range(1, n + 1),
            "offset": offsets,
            "key": keys,
            "ip": keys,
            "user": [f"user{i % 7}" for i in range(n)],
            "outcome": "failure",
            "reason": ["unknown_user" if i % 3 == 0 else None for i in range(n)],
        },
        schema=INPUT_SCHEMA,
    )


def _windows() -> TumblingWindows:
    return TumblingWindows(window=600 * US, lateness=60 * US, promote_at=3, horizon=300 * US, key_is_ip=True)


def _released(windows: TumblingWindows, batches: list[pl.DataFrame]) -> pl.DataFrame:
    parts = [part for batch in batches for part in windows.update(batch)]
    out = pl.concat([*parts, *windows.flush()], how="diagonal_relaxed")
    return out.select("win", "seq", "ts", "key", "user", "reason", "line").sort("seq")


def test_a_key_promoted_in_two_windows_by_one_batch_pulls_each_windows_own_failures() -> None:
    """``198.51.100.7`` fails twice near the end of one window and twice at the start of the next
    (all pending, below ``promote_at``); a later batch brings a late failure in the first window and
    one in the second, promoting the key in both at once. Each window pulls its own two failures,
    not the other's; a failure older than ``horizon`` before the promoting row stays out."""
    edge = T0 + 600 * US
    ip, other = "198.51.100.7", "203.0.113.9"
    first = _rows(
        [edge - 400 * US, edge - 50 * US, edge - 40 * US, edge + 5 * US, edge + 10 * US, edge + 20 * US],
        [ip, ip, ip, ip, ip, other],
    )
    # late by 30 s (within lateness), then the next window
    second = _rows([edge - 30 * US + 1, edge + 25 * US], [ip, ip])
    got = _released(_windows(), [first, second])
    mine = got.filter(pl.col("key") == ip)
    # window 1: the failure at -400 s is older than horizon (300 s) before the promoting row: dropped
    assert mine.filter(pl.col("win") == T0)["ts"].to_list() == [edge - 50 * US, edge - 40 * US, edge - 30 * US + 1]
    assert mine.filter(pl.col("win") == edge)["ts"].to_list() == [edge + 5 * US, edge + 10 * US, edge + 25 * US]
    assert got.filter(pl.col("key") == other).height == 0  # one failure: never promoted
    assert mine["reason"].to_list().count("unknown_user") == 2  # the flag survives packing


def test_failures_pending_in_chunks_of_different_types_are_pulled_together() -> None:
    """A log read by line (no byte offsets: the pending chunk keeps a ``Null`` column) and then
    by byte: the key's two waiting failures come from both kinds of chunk in one pull."""
    ip = "192.0.2.44"
    batches = [
        _rows([T0 + 10 * US], [ip]),
        _rows([T0 + 20 * US], [ip], [4_096]),
        _rows([T0 + 30 * US], [ip], [8_192]),
    ]
    got = _released(_windows(), batches)
    assert got["ts"].to_list() == [T0 + 10 * US, T0 + 20 * US, T0 + 30 * US]


@pytest.mark.parametrize("size", [37, 250, 1_000])
def test_pulling_matches_the_join_it_replaced(size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sparse failures of 300 addresses over two hours, slightly out of order, in batches of
    ``size``: many keys wait in several pending chunks (some without byte offsets), many are
    promoted later, some in two windows of one batch. The released rows are those the Polars
    join pulled, row for row."""
    rng = np.random.default_rng(5)
    n = 4_000
    ts = (T0 + np.sort(rng.integers(0, 7_200 * US, n)) - rng.integers(0, 40 * US, n)).tolist()
    keys = [f"10.9.{k // 256}.{k % 256}" for k in rng.zipf(1.3, n) % 300]
    # byte offsets in the second half only: pending chunks of both kinds (an all-null column is
    # kept as a ``Null`` column) are pulled from together
    rows = _rows(ts, keys, [None if i < n // 2 else 100 * i for i in range(n)])
    batches = [rows.slice(i, size) for i in range(0, n, size)]
    got = _released(_windows(), batches)
    monkeypatch.setattr(TumblingWindows, "_pull", _pull_by_join)
    want = _released(_windows(), batches)
    assert got.height > 1_000 and got.height < n  # many pulled, some never promoted or too old
    assert got.equals(want)
