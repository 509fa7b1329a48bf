"""The burst detector's cheaper stand-ins for Polars queries on small frames, held to them.

Why: pairing held successes with bursts and open segments (:func:`_same_keys`, :func:`_within`),
listing a burst's services (:func:`_services`) and its successes' accounts and sources
(:func:`_distinct_runs`) run on every batch, where a join with filter, sort and select, or a
``unique`` and ``sort``, cost more than the rows; each must give exactly what the plain Polars
query gives.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from watchhouse.detectors.accounts.burst_keys import ACCOUNT_KIND, IP_KIND, KEY_SEP, ROW_SCHEMA
from watchhouse.detectors.accounts.burst_tracker import _same_keys, _within
from watchhouse.detectors.accounts.failed_login_burst import _distinct_runs, _services

MINUTE = 60_000_000


def _keys(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """(kind, key) pairs as the tracker makes them: addresses, and service + account names; some
    text occurs under both kinds (an account named like an address) and must not pair across."""
    out = []
    for _ in range(n):
        i = int(rng.integers(0, 12))
        if rng.random() < 0.5:
            out.append((IP_KIND, f"203.0.113.{i}"))
        elif rng.random() < 0.8:
            out.append((ACCOUNT_KIND, f"{rng.choice(['web', 'sshd'])}{KEY_SEP}user{i}"))
        else:
            out.append((ACCOUNT_KIND, f"203.0.113.{i}"))
    return out


def _successes(rng: np.random.Generator, n: int) -> pl.DataFrame:
    keys = _keys(rng, n)
    return pl.DataFrame(
        {
            "kind": [k for k, _ in keys],
            "key": [v for _, v in keys],
            "ts": rng.integers(0, 60, n) * MINUTE,
            "seq": rng.permutation(n),
            "path": ["auth.jsonl"] * n,
            "line": np.arange(1, n + 1),
            "offset": [None] * n,
            "ip": ["198.51.100.7"] * n,
            "user": ["alice"] * n,
            "service": ["web"] * n,
        },
        schema=ROW_SCHEMA,
    )


def _bursts(rng: np.random.Generator, n: int) -> pl.DataFrame:
    keys = _keys(rng, n)
    first = rng.integers(0, 50, n) * MINUTE
    return pl.DataFrame(
        {
            "seg": np.arange(1, n + 1) * 3,
            "kind": [k for k, _ in keys],
            "key": [v for _, v in keys],
            "first": first,
            "last": first + rng.integers(0, 10, n) * MINUTE,
        }
    )


@pytest.mark.parametrize("seed", range(5))
def test_same_keys_pairs_rows_of_one_kind_and_key(seed: int) -> None:
    """Pairs by kind and text together: an account named like an address is not that address."""
    rng = np.random.default_rng(seed)
    rows, keys = _successes(rng, 300), _bursts(rng, 40)
    row, key = _same_keys(rows, keys)
    pairs = sorted(zip(row.tolist(), key.tolist(), strict=True))
    expected = [
        (i, j)
        for i, (kind, text) in enumerate(rows.select("kind", "key").iter_rows())
        for j, (other_kind, other_text) in enumerate(keys.select("kind", "key").iter_rows())
        if kind == other_kind and text == other_text
    ]
    assert expected  # the keys overlap
    assert pairs == expected


@pytest.mark.parametrize("seed", range(5))
def test_within_matches_join_filter_sort(seed: int) -> None:
    """A success belongs to every burst of its key whose [first, last + window] holds it."""
    rng = np.random.default_rng(100 + seed)
    successes, bursts = _successes(rng, 300), _bursts(rng, 40)
    window = 10 * MINUTE
    got = _within(successes, bursts, bursts["first"].to_numpy(), bursts["last"].to_numpy() + window)
    expected = (
        successes.join(bursts, on=["kind", "key"], how="inner")
        .filter(pl.col("ts").is_between(pl.col("first"), pl.col("last") + window))
        .select("seg", *ROW_SCHEMA)
        .sort("seg", "ts", "seq")
    )
    assert expected.height  # some successes fall inside
    assert got.rows() == expected.rows() and got.columns == expected.columns
    assert _within(successes.clear(), bursts, bursts["first"].to_numpy(), bursts["last"].to_numpy()).height == 0


def test_services_and_distinct_runs_match_unique_and_sort() -> None:
    """Per burst (a run of rows), its distinct non-null names in sorted order."""
    rng = np.random.default_rng(7)
    names = ["web", "sshd", "mobile", "Web", None]
    seg = np.sort(rng.integers(0, 30, 400))
    values = [names[i] for i in rng.integers(0, len(names), 400)]
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    frame = pl.DataFrame({"seg": seg, "name": values}, schema={"seg": pl.Int64, "name": pl.String})
    reference = frame.drop_nulls().unique().sort("seg", "name").group_by("seg", maintain_order=True).agg("name")
    lists = dict(reference.iter_rows())
    expected = [lists.get(s, []) for s in seg[starts].tolist()]
    assert _services(frame["name"], starts) == expected
    assert _distinct_runs(values, [*starts.tolist(), len(values)]) == expected
    assert any(None in values[a:b] for a, b in zip(starts, [*starts[1:], len(values)], strict=True))
