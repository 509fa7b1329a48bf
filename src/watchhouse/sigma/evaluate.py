"""Per-batch leaf truth, and the boolean algebra of rule trees over it, in NumPy.

Leaves come in two kinds. *Literal* leaves (the vast majority: contains/startswith/endswith/
equals of a text field) are answered per column by one multi-pattern scan of the column's
distinct values (:mod:`watchhouse.sigma.literals`) and spread to rows through value codes. The
rest (regexes, numbers, comparisons, field references, null/exists tests) are Polars
expressions computed in one ``select``.

Only leaves that hold on some row are materialised as masks; every other leaf is the constant
``False``. Rule trees are then evaluated with constants folded and ``and``/``or`` short-cut, so a
rule whose selections match nothing costs a few dictionary look-ups, not mask arithmetic; with
thousands of rules and a handful of hits per batch that is what makes the pass cheap.

Null logic: under :attr:`NullLogic.SIGMA` a value is just "true rows". Under
:attr:`NullLogic.SQL` each value is a pair of masks (definitely true, definitely false), so that
``NOT`` over a missing field stays unknown, as in SQL's three-valued logic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.web.engines import EngineName, resolve_engine
from watchhouse.sigma.compiler import KEYWORD_COLUMN, Leaf, Literal, Node, NullLogic
from watchhouse.sigma.literals import LiteralMatcher, literal_matcher, takes, wrap_values

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
#: A truth value over a batch: a row mask, or a constant for "every row" / "no row".
Value = Mask | bool
Truth = tuple[Value, Value]


@dataclass
class _ColumnLiterals:
    cased: bool
    bare: bool
    matcher: LiteralMatcher
    leaf_of: npt.NDArray[np.int64]  # pattern index -> leaf index


@dataclass
class _ColumnPlan:
    """What one column answers: literal matchers (raw and lower-cased) and local expressions."""

    literals: list[_ColumnLiterals]
    local: list[int]  # leaves whose expression reads only this column
    local_exprs: list[pl.Expr]


class LeafPlan:
    """How a leaf table is computed, built once per compiled pack and reused for every batch.

    Per column: literal leaves go to a multi-pattern matcher (Hyperscan databases come from the
    on-disk cache after the first build), other leaves that read only that column are computed
    on its distinct values. Leaves reading several columns (field references) run per row.
    """

    def __init__(self, leaves: Sequence[Leaf], engine: EngineName | str = EngineName.AUTO) -> None:
        self.size = len(leaves)
        chosen = resolve_engine(engine)
        literal: dict[str, dict[tuple[bool, bool], list[tuple[Literal, int]]]] = defaultdict(lambda: defaultdict(list))
        local: dict[str, list[int]] = defaultdict(list)
        self.generic: list[int] = []
        self.literal_column: dict[int, str] = {}
        for index, leaf in enumerate(leaves):
            if leaf.literal is not None and takes(leaf.literal, chosen):
                lit = leaf.literal
                literal[lit.column][(lit.cased, lit.search)].append((lit, index))
                self.literal_column[index] = lit.column
            elif len(leaf.columns) == 1 and not leaf.lowered:
                local[next(iter(leaf.columns))].append(index)
            else:
                self.generic.append(index)
        self.columns: dict[str, _ColumnPlan] = {}
        for column in sorted(set(literal) | set(local)):
            matchers = [
                _ColumnLiterals(
                    cased,
                    bare,
                    # the keyword text is long and nearly always distinct: scan it joined
                    literal_matcher([x for x, _ in items], chosen, joined=column == KEYWORD_COLUMN and not bare),
                    np.asarray([i for _, i in items], dtype=np.int64),
                )
                for (cased, bare), items in sorted(literal.get(column, {}).items())
            ]
            ids = local.get(column, [])
            self.columns[column] = _ColumnPlan(matchers, ids, [leaves[i].expr.alias(str(i)) for i in ids])
        self.generic_exprs = [leaves[i].expr.alias(str(i)) for i in self.generic]


def _factorize(series: pl.Series, hashes: npt.NDArray[np.uint64], present: Mask) -> tuple[Ints, pl.Series]:
    """Codes (0 for null, 1..k) and the k distinct values of ``series``.

    By hashing: Polars hashes every column in one pass and NumPy groups the hashes, several
    times cheaper than ranking strings. A hash collision would merge two values, so the
    distinct values are checked against the originals and an exact (ranking) path takes over
    if any differs.
    """
    rows = np.flatnonzero(present)
    _, first, inverse = np.unique(hashes[rows], return_index=True, return_inverse=True)
    distinct = series.gather(rows[first])
    codes = np.zeros(len(series), dtype=np.int64)
    codes[rows] = inverse.reshape(-1) + 1
    if len(rows) and not (distinct.gather(inverse.reshape(-1)) == series.gather(rows)).all():
        codes = series.rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
        distinct = series.drop_nulls().unique().sort()
    return codes, distinct


class LeafTruth:
    """Truth of every leaf on one frame."""

    def __init__(self, frame: pl.DataFrame, plan: LeafPlan, null_logic: NullLogic) -> None:
        self.rows = frame.height
        self.null_logic = null_logic
        self._true: dict[int, Mask] = {}
        self._false: dict[int, Mask] = {}  # SQL logic: non-literal leaves' definitely-false rows
        self._present: dict[str, Mask] = {}  # SQL logic: non-null rows of literal columns
        self._plan = plan
        sql = null_logic is NullLogic.SQL
        if plan.generic_exprs:
            values = frame.select(plan.generic_exprs)
            for index, column in zip(plan.generic, values.get_columns(), strict=True):
                if column.any():
                    self._true[index] = column.fill_null(False).to_numpy()
                if sql:
                    self._false[index] = (~column).fill_null(False).to_numpy()
        self._columns(frame)

    def _columns(self, frame: pl.DataFrame) -> None:
        """Per-column leaves: all-null columns from constants, the others on distinct values.

        Codes and distinct values of every live column come from two ``select`` calls, so the
        per-column cost is the matching itself, not Polars' per-call overhead.
        """
        plan = self._plan
        names = list(plan.columns)
        if not names:
            return
        nulls = frame.select(pl.col(names).null_count()).row(0, named=True)
        live = [n for n in names if nulls[n] < self.rows]
        for name in names:
            if nulls[name] == self.rows:
                self._all_null(frame.get_column(name), plan.columns[name])
        if not live:
            return
        hashes = frame.select(pl.col(live).hash(seed=0))
        present = frame.select(pl.col(live).is_not_null())
        for name in live:
            codes, values = _factorize(
                frame.get_column(name), hashes.get_column(name).to_numpy(), present.get_column(name).to_numpy()
            )
            self._column(codes, values, plan.columns[name])

    def _all_null(self, series: pl.Series, plan: _ColumnPlan) -> None:
        sql = self.null_logic is NullLogic.SQL
        if sql:
            self._present[series.name] = np.zeros(self.rows, dtype=np.bool_)
        if not plan.local_exprs:
            return
        values = series.head(1).to_frame().select(plan.local_exprs)
        for index, column in zip(plan.local, values.get_columns(), strict=True):
            if column.any():
                self._true[index] = np.ones(self.rows, dtype=np.bool_)
            if sql:
                self._false[index] = np.full(self.rows, bool((~column).fill_null(False)[0]), dtype=np.bool_)

    def _column(self, codes: Ints, distinct: pl.Series, plan: _ColumnPlan) -> None:
        """Answer one column's leaves on its distinct values, then spread them to rows."""
        if self.null_logic is NullLogic.SQL:
            self._present[distinct.name] = codes > 0
        if plan.local_exprs:
            with_null = pl.concat([pl.Series(distinct.name, [None], dtype=distinct.dtype), distinct])
            values = with_null.to_frame().select(plan.local_exprs)
            for index, column in zip(plan.local, values.get_columns(), strict=True):
                if column.any():
                    self._true[index] = column.fill_null(False).to_numpy()[codes]
                if self.null_logic is NullLogic.SQL:
                    self._false[index] = (~column).fill_null(False).to_numpy()[codes]
        if not len(distinct) or not plan.literals:
            return
        text = distinct.cast(pl.String)
        for group in plan.literals:
            self._literals(codes, text, group)

    def _literals(self, codes: Ints, distinct: pl.Series, group: _ColumnLiterals) -> None:
        found = group.matcher.raw_pairs(distinct)
        if found is None:
            found = group.matcher.pairs(wrap_values(distinct, cased=group.cased, bare=group.bare))
        value_at, pattern_at = found
        if not len(value_at):
            return
        leaf_at = group.leaf_of[pattern_at]
        order = np.argsort(leaf_at, kind="stable")
        leaf_at, value_at = leaf_at[order], value_at[order] + 1
        starts = np.flatnonzero(np.r_[True, leaf_at[1:] != leaf_at[:-1]])
        ends = np.r_[starts[1:], len(leaf_at)]
        hit = np.zeros(len(distinct) + 1, dtype=np.bool_)
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            chosen = value_at[start:end]
            hit[chosen] = True
            self._true[int(leaf_at[start])] = hit[codes]
            hit[chosen] = False

    # -- two-valued (Sigma) ---------------------------------------------------------------------
    def truth(self, node: Node) -> Value:
        """Rows where ``node`` holds, with constants for all/none (Sigma's two-valued logic)."""
        op = node.op
        if op == "leaf":
            return self._true.get(node.leaf, False)
        if op == "not":
            inner = self.truth(node.args[0])
            return (not inner) if isinstance(inner, bool) else ~inner
        if op == "false":
            return False
        if op == "and":
            acc: Value = True
            for arg in node.args:
                value = self.truth(arg)
                if value is False:
                    return False
                if value is True:
                    continue
                acc = value if acc is True else acc & value
                if not acc.any():
                    return False
            return acc
        if op == "or":
            acc = False
            for arg in node.args:
                value = self.truth(arg)
                if value is True:
                    return True
                if value is False:
                    continue
                acc = value if acc is False else acc | value
            return acc
        raise ValueError(f"unknown node {op!r}")

    # -- three-valued (SQL) ---------------------------------------------------------------------
    def _full(self, value: Value) -> Mask:
        if isinstance(value, bool):
            return np.full(self.rows, value, dtype=np.bool_)
        return value

    def pair(self, node: Node) -> tuple[Mask, Mask]:
        """(definitely true, definitely false) rows of ``node`` under SQL's three-valued logic."""
        op = node.op
        if op == "leaf":
            true = self._full(self._true.get(node.leaf, False))
            false = self._false.get(node.leaf)
            if false is None:
                column = self._plan.literal_column.get(node.leaf)
                present = self._present.get(column) if column is not None else None
                false = ~true if present is None else present & ~true
            return true, false
        if op == "not":
            true, false = self.pair(node.args[0])
            return false, true
        if op == "false":
            return self._full(False), self._full(True)
        parts = [self.pair(a) for a in node.args]
        if op == "and":
            return np.logical_and.reduce([p[0] for p in parts]), np.logical_or.reduce([p[1] for p in parts])
        if op == "or":
            return np.logical_or.reduce([p[0] for p in parts]), np.logical_and.reduce([p[1] for p in parts])
        raise ValueError(f"unknown node {op!r}")

    def matches(self, node: Node) -> Mask:
        """Rows where ``node`` is (definitely) true under this truth's null logic."""
        if self.null_logic is NullLogic.SQL:
            return self.pair(node)[0]
        return self._full(self.truth(node))
