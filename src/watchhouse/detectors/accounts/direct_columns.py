"""Column work of the windowed detectors done by direct calls on a column, not one query each.

Why: in the Polars release this project pins, many ``Series`` methods (``eq_missing``,
``fill_null``, ``is_not_null``, ``gather`` ...) run as a one-column query, about 40 µs each
however short the column, while comparison operators and ``to_numpy`` call the column directly
(a few µs). The windowed detectors ask such questions dozens of times a batch, mostly of columns
without nulls; these helpers take the direct path then, and the query only when nulls need it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl


def equals(column: pl.Series, value: str) -> npt.NDArray[np.bool_]:
    """Which rows of a string ``column`` hold ``value`` (a null holds nothing)."""
    found = column == value
    if column.null_count():
        found = found.fill_null(False)
    flags: npt.NDArray[np.bool_] = found.to_numpy()
    return flags


def present(column: pl.Series) -> npt.NDArray[np.bool_]:
    """Which rows of ``column`` hold a value."""
    if column.null_count():
        flags: npt.NDArray[np.bool_] = column.is_not_null().to_numpy()
        return flags
    return np.ones(column.len(), dtype=bool)


def integers(column: pl.Series, default: int = 0) -> npt.NDArray[np.int64]:
    """An integer ``column`` as int64, a null as ``default`` (``to_numpy`` alone turns a column
    with nulls into floats)."""
    if column.null_count():
        column = column.fill_null(default)
    values: npt.NDArray[np.int64] = column.to_numpy().astype(np.int64, copy=False)
    return values


def picked(column: pl.Series, positions: npt.NDArray[np.intp]) -> list[Any]:
    """The Python values of ``column`` at ``positions``: read through numpy for an integer column
    without nulls, given at once for a column of nulls (offsets of a file read by line)."""
    if column.null_count() == column.len():
        return [None] * positions.size
    if column.null_count() == 0 and column.dtype.is_integer():
        values: list[Any] = column.to_numpy()[positions].tolist()
        return values
    return column[positions].to_list()


def filtered(frame: pl.DataFrame, mask: pl.Series | npt.NDArray[np.bool_]) -> pl.DataFrame:
    """``frame.filter(mask)``, column by column: a frame's ``filter`` is a query, whose fixed
    cost (a tenth of a millisecond or so) was more than the filtering on the small frames of a
    batch; filtering a series is a direct call."""
    flags = mask if isinstance(mask, pl.Series) else pl.Series(mask)
    return pl.DataFrame([column.filter(flags) for column in frame.get_columns()])


def kept(frame: pl.DataFrame, columns: list[str], mask: npt.NDArray[np.bool_]) -> pl.DataFrame:
    """The ``columns`` of ``frame`` at the rows ``mask`` flags, filtered column by column (a
    frame ``select`` then ``filter`` is two queries; a column's filter is a direct call)."""
    flags = pl.Series(mask)
    return pl.DataFrame([frame[name].filter(flags) for name in columns])


def constant(value: Any, count: int, dtype: pl.DataType) -> pl.Series:
    """``count`` copies of ``value``, made by the column itself (``pl.repeat`` is a query)."""
    return pl.Series([value], dtype=dtype).new_from_index(0, count)


#: rows per run below which :func:`run_sums` sums by a cumulative sum rather than ``reduceat``
RUNS_PER_SUM = 8


def run_sums(values: npt.NDArray[Any], starts: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
    """Per run of ``values`` (runs begin at ``starts``: ascending, the first at 0, none empty),
    the sum of its values (booleans count), as ``np.add.reduceat`` gives it.

    Why: ``reduceat`` over a batch's tens of thousands of (window, key) runs (a spraying batch
    of addresses) cost twice as much as one cumulative sum and a difference at the run ends;
    over a few long runs (a stuffing batch of user agents) it is the cheaper one, and is kept."""
    if RUNS_PER_SUM * starts.size < values.size:
        few: npt.NDArray[np.int64] = np.add.reduceat(values.astype(np.int64, copy=False), starts)
        return few
    running = np.zeros(values.size + 1, dtype=np.int64)
    np.cumsum(values.astype(np.int64, copy=False), out=running[1:])
    sums: npt.NDArray[np.int64] = np.diff(running[np.append(starts, values.size)])
    return sums
