"""The windowed detectors' direct column helpers (``direct_columns``), the numpy evidence sides
and the numpy paths of ``HeldRows`` (drop, release, small chunks left unthinned), each held to
the Polars expression it replaced, on columns with and without nulls."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from watchhouse.detectors.accounts.direct_columns import constant, equals, integers, kept, picked, present
from watchhouse.detectors.accounts.eventtime import HeldRows
from watchhouse.detectors.accounts.tumbling import MIN_EVIDENCE_SIDE, TumblingWindows

US = 1_000_000


def _outcomes(nulls: bool) -> pl.Series:
    rng = np.random.default_rng(5)
    values = rng.choice(["failure", "success", "unknown"], 500).tolist()
    if nulls:
        values = [None if i % 7 == 0 else v for i, v in enumerate(values)]
    return pl.Series("outcome", values, dtype=pl.String)


@pytest.mark.parametrize("nulls", [False, True])
def test_equals_and_present_agree_with_the_polars_methods(nulls: bool) -> None:
    outcome = _outcomes(nulls)
    assert equals(outcome, "failure").tolist() == outcome.eq_missing("failure").to_list()
    assert present(outcome).tolist() == outcome.is_not_null().to_list()
    assert equals(outcome, "failure").dtype == np.bool_ and present(outcome).dtype == np.bool_


def test_integers_keep_their_values_and_give_nulls_the_default() -> None:
    column = pl.Series([5, None, 1 << 40, 0], dtype=pl.Int64)
    assert integers(column, default=-1).tolist() == [5, -1, 1 << 40, 0]
    assert integers(column.drop_nulls()).dtype == np.int64
    assert integers(pl.Series([3, 4], dtype=pl.UInt32)).tolist() == [3, 4]


@pytest.mark.parametrize(
    "column",
    [
        pl.Series([10, 20, 30, 40], dtype=pl.Int64),
        pl.Series([10, None, 30, 40], dtype=pl.Int64),
        pl.Series([None, None, None, None], dtype=pl.Int64),
        pl.Series(["a.log", "b.log", None, "a.log"], dtype=pl.String),
    ],
)
def test_picked_values_are_those_polars_gathers(column: pl.Series) -> None:
    at = np.array([3, 0, 2], dtype=np.intp)
    assert picked(column, at) == column.gather(at).to_list()
    assert picked(column, np.zeros(0, dtype=np.intp)) == []


def test_kept_rows_are_the_frame_filter() -> None:
    frame = pl.DataFrame(
        {"path": ["a", "b", "c", "d"], "line": [1, None, 3, 4], "offset": pl.Series([None] * 4, dtype=pl.Int64)}
    )
    mask = np.array([True, True, False, True])
    assert kept(frame, ["path", "line", "offset"], mask).equals(frame.filter(pl.Series(mask)))


def test_a_constant_column_is_a_repeated_value_of_its_type() -> None:
    assert constant("failure", 3, pl.String()).to_list() == ["failure"] * 3
    assert constant(7, 2, pl.UInt32()).dtype == pl.UInt32 and constant(7, 0, pl.UInt32()).len() == 0


def _sides_by_polars(windows: TumblingWindows, keys: list[int]) -> tuple[list[int], list[int]]:
    """The former evidence sides: the same rule as one Polars expression per side."""
    assert windows.fold_head is not None
    scale = pl.lit(windows.fold_budget) / (pl.col("keys") * (windows.fold_head + windows.fold_tail))

    def side(full: int) -> pl.Expr:
        scaled = (scale * full).floor().cast(pl.Int64)
        return pl.min_horizontal(pl.lit(full), pl.max_horizontal(pl.lit(min(full, MIN_EVIDENCE_SIDE)), scaled))

    out = pl.DataFrame({"keys": keys}, schema={"keys": pl.Int64}).select(
        head=side(windows.fold_head), tail=side(windows.fold_tail)
    )
    return out["head"].to_list(), out["tail"].to_list()


def test_evidence_sides_shrink_with_the_keys_of_a_window_as_the_polars_rule_did() -> None:
    windows = TumblingWindows(window=600 * US, lateness=0, fold_head=150, fold_tail=150, fold_budget=200_000)
    keys = [1, 2, 666, 667, 668, 1_000, 4_444, 20_000, 10_000_000]
    head, tail = windows.evidence_sides(np.array(keys, dtype=np.int64))
    assert (head.tolist(), tail.tolist()) == _sides_by_polars(windows, keys)
    assert head[0] == 150 and head[-1] == MIN_EVIDENCE_SIDE  # full sides for one key, the floor for a flood
    assert (np.diff(head) <= 0).all()


def _held_chunks(schema: dict[str, pl.DataType], thin_from: int) -> HeldRows:
    held = HeldRows(schema, sparse=True, narrow=("seq",), thin_from=thin_from)
    held.add(pl.DataFrame({"seq": range(10), "ts": range(100, 110), "offset": None}, schema=schema))
    held.add(pl.DataFrame({"seq": range(10, 5_010), "ts": range(5_000), "offset": None}, schema=schema))
    return held


def test_small_chunks_are_kept_unthinned_and_read_back_the_same() -> None:
    schema: dict[str, pl.DataType] = {"seq": pl.Int64(), "ts": pl.Int64(), "offset": pl.Int64()}
    thin, plain = _held_chunks(schema, thin_from=0), _held_chunks(schema, thin_from=1_000)
    assert plain.chunks[0].schema == pl.Schema(schema)  # 10 rows: as they came
    assert (
        plain.chunks[1].schema
        == thin.chunks[1].schema
        == pl.Schema({"seq": pl.UInt32(), "ts": pl.Int64(), "offset": pl.Null()})
    )
    assert plain.rows.equals(thin.rows) and plain.rows.schema == pl.Schema(schema)


def test_drop_below_forgets_what_the_expression_drop_forgot() -> None:
    schema: dict[str, pl.DataType] = {"seq": pl.Int64(), "ts": pl.Int64(), "offset": pl.Int64()}
    by_numpy, by_expression = _held_chunks(schema, 1_000), _held_chunks(schema, 1_000)
    for held in (by_numpy, by_expression):
        held.add(pl.DataFrame({"seq": [9_000, 9_001], "ts": [None, 3], "offset": None}, schema=schema))
    by_numpy.drop_below("ts", 104)
    by_expression.drop(pl.col("ts") < 104)
    assert by_numpy.rows.equals(by_expression.rows)
    assert by_numpy.rows["ts"].to_list()[:6] == [104, 105, 106, 107, 108, 109]
    assert None in by_numpy.rows["ts"].to_list()  # a row without a time is never dropped by time
    by_numpy.drop_below("ts", 0)  # nothing below: chunks kept as they are
    assert by_numpy.rows.equals(by_expression.rows)


def test_release_lets_a_window_go_only_when_all_its_rows_are_due_in_every_chunk() -> None:
    schema: dict[str, pl.DataType] = {"win": pl.Int64(), "due": pl.Int64(), "path": pl.String(), "seq": pl.Int64()}
    held = HeldRows(schema, group="win")
    held.add(pl.DataFrame({"win": [0, 0, 10], "due": [10, 10, 20], "path": "a.log", "seq": [1, 2, 3]}, schema=schema))
    # window 10 also has a row of another file whose watermark lags: it must wait for it
    held.add(pl.DataFrame({"win": [10, 20], "due": [20, 30], "path": ["b.log", "a.log"], "seq": [4, 5]}, schema=schema))
    out = held.release({"a.log": 25, "b.log": 15})
    assert out["seq"].to_list() == [1, 2]
    out = held.release({"a.log": 25, "b.log": 21})
    assert sorted(out["seq"].to_list()) == [3, 4]
    assert held.rows["seq"].to_list() == [5]
    assert held.release({"c.log": 99}).height == 0  # a file with no rows here releases nothing
