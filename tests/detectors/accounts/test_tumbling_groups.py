"""(window, key) grouping and promotion in :mod:`tumbling`, against plain statements of the rules:
the numpy passes must count what a Polars group-by counts, and hold exactly the rows the
promotion rule names, whatever the batching, across a restart and from an older checkpoint."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from watchhouse.detectors.accounts.eventtime import HeldRows
from watchhouse.detectors.accounts.grouping import KeyGroups
from watchhouse.detectors.accounts.sketches import hash_keys
from watchhouse.detectors.accounts.tumbling import INPUT_SCHEMA, KEY_TEXT_VERSION, PENDING_SCHEMA, TumblingWindows

US = 1_000_000
T0 = 1_772_000_000 * US
WINDOW = 600 * US
HORIZON = 300 * US


def _logins(seed: int, n: int = 5_000) -> pl.DataFrame:
    """Logins in time order over an hour: a few hundred sources (some failing often, most once
    or twice), accounts drawn from a few hundred, one in four a success."""
    rng = np.random.default_rng(seed)
    ts = T0 + np.sort(rng.integers(0, 3_600 * US, n))
    source = np.where(rng.random(n) < 0.5, rng.integers(0, 20, n), rng.integers(20, 2_000, n))
    return pl.DataFrame(
        {
            "ts": ts,
            "path": "auth.jsonl",
            "line": np.arange(1, n + 1),
            "offset": None,
            "key": [f"203.0.{s >> 8}.{s & 255}" for s in source],
            "ip": [f"203.0.{s >> 8}.{s & 255}" for s in source],
            "user": [f"acct-{u}" for u in rng.integers(0, 300, n)],
            "outcome": np.where(rng.random(n) < 0.25, "success", "failure"),
            "reason": np.where(rng.random(n) < 0.2, "unknown_user", "bad_password"),
        },
        schema=INPUT_SCHEMA,
    )


def test_groups_count_what_a_group_by_counts() -> None:
    rows = _logins(1).with_columns(win=(pl.col("ts") // WINDOW) * WINDOW)
    groups = KeyGroups(rows, WINDOW)
    failed = rows["outcome"].eq_missing("failure").to_numpy()
    got = pl.DataFrame(
        {
            "win": groups.wins,
            "h": groups.hashes,
            "rows": groups.lengths,
            "failures": groups.sum(failed),
            "accounts": groups.distinct(rows["user"], failed),
            "last_line": groups.max(rows["line"].to_numpy()),
        }
    )
    fail = pl.col("outcome") == "failure"
    expected = (
        rows.with_columns(h=pl.Series(hash_keys(rows["key"])))
        .group_by("win", "h")
        .agg(
            rows=pl.len(),
            failures=fail.sum(),
            accounts=pl.col("user").filter(fail).n_unique(),
            last_line=pl.col("line").max(),
        )
    )
    assert groups.count == expected.height > 100
    assert got.sort("win", "h").equals(expected.sort("win", "h").cast(dict(got.schema)))  # type: ignore[arg-type]
    # groups come in window order, each row's group is its own (window, key)
    assert (np.diff(groups.wins) >= 0).all()
    assert (groups.wins[groups.group] == rows["win"].to_numpy()).all()
    assert (groups.hashes[groups.group] == hash_keys(rows["key"])).all()


def test_a_group_fires_only_through_its_bar_or_a_continuing_key() -> None:
    rows = pl.DataFrame({"win": [0, 0, 0, WINDOW, WINDOW], "key": ["a", "b", "c", "a", "b"]})
    groups = KeyGroups(rows, WINDOW)  # groups: window 0 a/b/c by hash, then window 1 a/b
    keys = np.array(["a", "b", "c", "a", "b"])[np.argsort(groups.group)]
    candidate = np.ones(5, dtype=bool)
    opening = keys == "a"
    opening[3:] = False  # "a" opens in the first window only
    fires = dict(
        zip(
            [f"{k}@{w}" for k, w in zip(keys, groups.wins // WINDOW, strict=True)],
            groups.may_fire(candidate, opening, fired=["c"]),
            strict=True,
        )
    )
    assert fires == {"a@0": True, "b@0": False, "c@0": True, "a@1": True, "b@1": False}


def _windows() -> TumblingWindows:
    return TumblingWindows(window=WINDOW, lateness=60 * US, promote_at=3, horizon=HORIZON, key_is_ip=True)


def _held(frames: list[pl.DataFrame], restart_at: int | None = None, *, old_state: bool = False) -> pl.DataFrame:
    windows = _windows()
    out: list[pl.DataFrame] = []
    for i, frame in enumerate(frames):
        if i == restart_at:
            state = windows.to_json()
            if old_state:
                state = _as_key_text(state, frames)
            windows = _windows()
            windows.load_json(state)
        out += windows.update(frame)
    out += windows.flush()
    return pl.concat(out).select("seq", "line", "key", "outcome").sort("seq")


def _as_key_text(state: dict[str, Any], frames: list[pl.DataFrame]) -> dict[str, Any]:
    """The checkpoint as the previous version wrote it: pending rows with their key's text."""
    keys = pl.concat(frames)["key"].unique()
    text = dict(zip(hash_keys(keys).tolist(), keys.to_list(), strict=True))
    pending = pl.DataFrame(state["pending"], schema=PENDING_SCHEMA)
    assert pending.height > 0  # the restart must fall where failures wait
    old = pending.with_columns(key=pl.col("h").replace_strict(text, return_dtype=pl.String)).drop("h")
    return {**state, "version": KEY_TEXT_VERSION, "pending": old.to_dict(as_series=False)}


def _promotion_rule(rows: pl.DataFrame) -> list[int]:
    """Held rows, one (window, key) at a time: everything from its third failure on, and the
    earlier failures within the horizon of that failure."""
    held: list[int] = []
    rows = rows.with_row_index("seq").with_columns(win=pl.col("ts") // WINDOW)
    for group in rows.partition_by("win", "key"):
        fails = group.filter(pl.col("outcome") == "failure")
        if fails.height < 3:
            continue
        third_seq, third_ts = fails["seq"][2], fails["ts"][2]
        after = group.filter(pl.col("seq") >= third_seq)["seq"].to_list()
        pulled = fails.filter((pl.col("seq") < third_seq) & (pl.col("ts") >= third_ts - HORIZON))["seq"].to_list()
        held += after + pulled
    return sorted(held)


@pytest.mark.parametrize("size", [5_000, 1_231, 97])
def test_promotion_holds_what_the_rule_names_whatever_the_batching(size: int) -> None:
    rows = _logins(2)
    frames = [rows.slice(i, size) for i in range(0, rows.height, size)]
    held = _held(frames)
    assert held["seq"].to_list() == _promotion_rule(rows)
    assert held.filter(pl.col("outcome") == "success").height > 0
    assert _held(frames, restart_at=len(frames) // 2).equals(held)


def test_a_checkpoint_with_pending_key_text_still_loads() -> None:
    rows = _logins(3)
    frames = [rows.slice(i, 211) for i in range(0, rows.height, 211)]
    assert _held(frames, restart_at=9, old_state=True).equals(_held(frames))


def test_compact_held_rows_keep_an_empty_column_for_nothing_and_small_numbers_in_four_bytes() -> None:
    schema = {"seq": pl.Int64(), "offset": pl.Int64()}
    held = HeldRows(schema, sparse=True, narrow=("seq",))
    held.add(pl.DataFrame({"seq": range(100_000), "offset": None}, schema=schema))
    held.add(pl.DataFrame({"seq": [1 << 40], "offset": [70]}, schema=schema))
    small, large = held.chunks
    assert small.schema == pl.Schema({"seq": pl.UInt32(), "offset": pl.Null()}) and small.estimated_size() <= 400_000
    assert large.schema == pl.Schema(schema)  # a number past 32 bits keeps its column as it was
    assert held.rows.schema == pl.Schema(schema) and held.rows["seq"].to_list()[-2:] == [99_999, 1 << 40]
    assert held.rows["offset"].drop_nulls().to_list() == [70]
    assert held.release(None).schema == pl.Schema(schema)


@pytest.mark.parametrize("size", [5_000, 313])
def test_judges_see_each_keys_successes_in_its_window(size: int) -> None:
    """Counted exactly for a window one batch opens and closes, by the sketch for one that spans
    batches (which, with this few keys, does not over-count either)."""
    rows = _logins(4)
    windows = _windows()
    parts = [part for i in range(0, rows.height, size) for part in windows.update(rows.slice(i, size))]
    released = pl.concat([*parts, *windows.flush()])
    seen = released.group_by("win", "key").agg(pl.col("successes_seen").max()).sort("win", "key")
    truth = (
        rows.with_columns(win=(pl.col("ts") // WINDOW) * WINDOW)
        .group_by("win", "key")
        .agg(successes_seen=(pl.col("outcome") == "success").sum().cast(pl.Int64))
    )
    expected = truth.join(seen.select("win", "key"), on=["win", "key"]).sort("win", "key")
    assert seen.height > 100 and seen.equals(expected.select(seen.columns))
