"""Per-batch leaf truth, and the boolean algebra of rule trees over it, in NumPy.

Leaves come in two kinds. *Literal* leaves (the vast majority: contains/startswith/endswith/
equals of a text field) are answered per column by one multi-pattern scan of the column's
distinct values (:mod:`watchhouse.sigma.literals`). The rest (regexes, numbers, comparisons,
null/exists tests) are Polars expressions, on a column's distinct values where they read one
column, per row where they read several (field references).

Rows are then *compressed* before any rule runs (ADR 0011). Per column, values on which exactly
the same leaves hold form one class (``C:\\Windows\\System32\\cmd.exe`` and ``...\\CMD.EXE`` are
one class for every rule); a row's *signature* is its tuple of classes over all columns, and two
rows with one signature are alike for every rule of the pack. A batch of tens of thousands of
events has a few hundred to a few thousand signatures, so leaf masks and rule trees work on
arrays that much shorter, and only a rule that fired is spread back to rows.

Only leaves that hold on some row are materialised as masks; every other leaf is the constant
``False``. Rule trees are then evaluated with constants folded and ``and``/``or`` short-cut, so a
rule whose selections match nothing costs a few dictionary look-ups, not mask arithmetic; with
thousands of rules and a handful of hits per batch that is what makes the pass cheap.

Null logic: under :attr:`NullLogic.SIGMA` a value is just "true signatures". Under
:attr:`NullLogic.SQL` each value is a pair of masks (definitely true, definitely false), so that
``NOT`` over a missing field stays unknown, as in SQL's three-valued logic; that mode keeps one
signature per row (it serves the differential test, not throughput).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.detectors.web.engines import EngineName, resolve_engine
from watchhouse.sigma.compiler import KEYWORD_COLUMN, Leaf, Literal, Node, NullLogic, ValueTest
from watchhouse.sigma.literals import LiteralMatcher, literal_matcher, takes, wrap_values

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
#: A truth value over a batch: a mask over signatures, or a constant for "every row" / "no row".
Value = Mask | bool
Truth = tuple[Value, Value]

#: signatures are combined in an int64 key; re-numbered before it could overflow
_KEY_LIMIT = 1 << 62
#: (value, leaf) pairs from which a column's leaves are numbered by a table over all leaves
#: rather than by sorting the pairs (a command-line column yields hundreds of thousands)
_TABLE_FROM = 4096


#: A rule tree prepared for :meth:`LeafTruth.fast`: ``("any"|"all", leaves, children)``,
#: ``("not", child)``, ``("leaf", index)`` or ``("false",)``.
Prepared = tuple[Any, ...]


def prepare(node: Node) -> Prepared:
    """``node`` with the plain leaves of each ``and``/``or`` gathered into one set.

    Why: a SigmaHQ selection is typically an ``or`` of tens of literal leaves of which none
    holds on a batch. One set intersection with the batch's live leaves (in C) then replaces a
    Python call per leaf, which with thousands of rules was most of the tree walk.
    """
    if node.op in ("and", "or"):
        leaves = frozenset(a.leaf for a in node.args if a.op == "leaf")
        children = tuple(prepare(a) for a in node.args if a.op != "leaf")
        return ("any" if node.op == "or" else "all", leaves, children)
    if node.op == "not":
        return ("not", prepare(node.args[0]))
    if node.op == "leaf":
        return ("leaf", node.leaf)
    if node.op == "false":
        return ("false",)
    raise ValueError(f"unknown node {node.op!r}")


def necessary(tree: Prepared, avoid: frozenset[int] = frozenset()) -> frozenset[int] | None:
    """Leaves of which at least one holds on some row wherever ``tree`` holds on a row; None
    when there is no such set (a ``not`` can hold where no leaf does).

    Why: a batch makes a few hundred of a pack's ~30,000 leaves true, so a rule none of whose
    necessary leaves is live cannot fire and need not be walked at all. For an ``all`` node any
    one operand's set will do; the smallest one free of ``avoid`` (leaves that hold on nearly
    every batch, such as routing tests on the event id) is taken, so the set rarely goes live
    for nothing.
    """
    kind = tree[0]
    if kind == "leaf":
        return frozenset((tree[1],))
    if kind == "false":
        return frozenset()
    if kind == "any":
        out = set(tree[1])
        for child in tree[2]:
            need = necessary(child, avoid)
            if need is None:
                return None
            out |= need
        return frozenset(out)
    if kind == "all":
        options = [frozenset((leaf,)) for leaf in tree[1]]
        options += [n for n in (necessary(child, avoid) for child in tree[2]) if n is not None]
        if not options:
            return None
        return min(options, key=lambda n: (not avoid.isdisjoint(n), len(n)))
    return None


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
    #: every literal leaf of the column (SQL logic needs their false rows too)
    literal_leaves: npt.NDArray[np.int64]
    #: local leaves answered in NumPy (leaf, test, expression for a column of unexpected type)
    tests: list[tuple[int, ValueTest, pl.Expr]] = field(default_factory=list)

    @property
    def local_leaves(self) -> Ints:
        """Every leaf answered on this column's values other than by a literal matcher."""
        return np.asarray([*self.local, *(i for i, _, _ in self.tests)], dtype=np.int64)


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
        tests: dict[str, list[tuple[int, ValueTest, pl.Expr]]] = defaultdict(list)
        self.generic: list[int] = []
        self.literal_column: dict[int, str] = {}
        for index, leaf in enumerate(leaves):
            if leaf.literal is not None and takes(leaf.literal, chosen):
                lit = leaf.literal
                literal[lit.column][(lit.cased, lit.search)].append((lit, index))
                self.literal_column[index] = lit.column
            elif len(leaf.columns) == 1 and leaf.test is not None:
                tests[next(iter(leaf.columns))].append((index, leaf.test, leaf.expr.alias(str(index))))
            elif len(leaf.columns) == 1 and not leaf.lowered:
                local[next(iter(leaf.columns))].append(index)
            else:
                self.generic.append(index)
        self.columns: dict[str, _ColumnPlan] = {}
        for column in sorted(set(literal) | set(local) | set(tests)):
            groups = sorted(literal.get(column, {}).items())
            matchers = [
                _ColumnLiterals(
                    cased,
                    bare,
                    # the keyword text is long and nearly always distinct: scan it joined
                    literal_matcher([x for x, _ in items], chosen, joined=column == KEYWORD_COLUMN and not bare),
                    np.asarray([i for _, i in items], dtype=np.int64),
                )
                for (cased, bare), items in groups
            ]
            ids = local.get(column, [])
            every = np.asarray([i for _, items in groups for _, i in items], dtype=np.int64)
            exprs = [leaves[i].expr.alias(str(i)) for i in ids]
            self.columns[column] = _ColumnPlan(matchers, ids, exprs, every, tests.get(column, []))
        self.generic_exprs = [leaves[i].expr.alias(str(i)) for i in self.generic]
        #: (column, dtype) -> leaves that hold on null: a column null on every row of a batch
        #: (most of them: each event kind has its own fields) costs a look-up, not a pass
        self.null_leaves: dict[tuple[str, pl.DataType], Ints] = {}


def hash_ranks(name: str) -> pl.Expr:
    """Dense ranks (1..k) of column ``name``'s value hashes, null where the value is null."""
    return pl.when(pl.col(name).is_not_null()).then(pl.col(name).hash(seed=0)).rank("dense").alias(name)


def _factorize(series: pl.Series, ranks: pl.Series, distinct_count: int) -> tuple[Ints, pl.Series]:
    """Codes (0 for null, 1..k) and the k distinct values of ``series``.

    ``ranks`` are the column's :func:`hash_ranks`, which Polars computes for every column of a
    frame in one call: several times cheaper than ranking strings or grouping the hashes in
    NumPy (a sort per column). A hash collision would merge two values, so the number of hash
    classes is checked against ``distinct_count`` (the exact number of distinct non-null
    values, also one call for all columns) and an exact (ranking) path takes over if they differ.
    """
    codes = ranks.fill_null(0).to_numpy().astype(np.int64, copy=False)
    size = int(codes.max()) if len(codes) else 0
    if size != distinct_count:
        codes = series.rank("dense").fill_null(0).cast(pl.Int64).to_numpy()
        return codes, series.drop_nulls().unique().sort()
    first = np.empty(size + 1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1, dtype=np.int64)  # the lowest row wins
    return codes, series.gather(first[1:])


def _test_hits(test: ValueTest, size: int, values: npt.NDArray[Any] | None) -> Ints:
    """Value indices (0 is null, 1..``size`` the distinct values) where ``test`` holds."""
    if test.kind == "null":
        return np.zeros(1, dtype=np.int64)
    if test.kind == "present":
        return np.arange(1, size + 1, dtype=np.int64)
    if test.kind == "equals" and values is not None:
        return np.flatnonzero(values == test.number).astype(np.int64) + 1
    raise ValueError(f"unknown value test {test.kind!r}")


@dataclass
class _Unit:
    """One column (or one multi-column leaf): which value each row holds, and which leaves hold
    on each value (value 0 is null)."""

    codes: Ints  # row -> value
    leaves: Ints  # leaf indices, one per column of ``true``
    true: Mask  # (values, leaves)
    false: Mask | None = None  # SQL logic: definitely-false, same shape


class LeafTruth:
    """Truth of every leaf on one frame, over the frame's row signatures."""

    def __init__(self, frame: pl.DataFrame, plan: LeafPlan, null_logic: NullLogic) -> None:
        self.null_logic = null_logic
        self._plan = plan
        self._height = frame.height
        self._true: dict[int, Value] = {}
        self._false: dict[int, Value] = {}  # SQL logic only
        units = self._generic(frame) + self._columns(frame)
        if null_logic is NullLogic.SQL:
            self._per_row(units)
        else:
            self._compress(units)
        self._live = set(self._true)

    @property
    def live(self) -> set[int]:
        """Leaves that hold on some row."""
        return self._live

    # -- leaves on values -----------------------------------------------------------------------
    def _generic(self, frame: pl.DataFrame) -> list[_Unit]:
        """Leaves over several columns, per row: each is a unit whose values are its outcomes."""
        if not self._plan.generic_exprs:
            return []
        units = []
        values = frame.select(self._plan.generic_exprs)
        for index, column in zip(self._plan.generic, values.get_columns(), strict=True):
            true = column.fill_null(False).to_numpy()
            leaves = np.array([index], dtype=np.int64)
            if self.null_logic is NullLogic.SQL:  # values: 0 unknown, 1 true, 2 false
                false = (~column).fill_null(False).to_numpy()
                codes = true.astype(np.int64) + 2 * false.astype(np.int64)
                outcome = np.array([[False], [True], [False]])
                units.append(_Unit(codes, leaves, outcome, np.array([[False], [False], [True]])))
            elif true.any():
                units.append(_Unit(true.astype(np.int64), leaves, np.array([[False], [True]])))
        return units

    def _columns(self, frame: pl.DataFrame) -> list[_Unit]:
        """One unit per column that some leaf holds on (SQL logic: per planned column).

        Codes and distinct values of every live column come from two ``select`` calls, so the
        per-column cost is the matching itself, not Polars' per-call overhead.
        """
        names = list(self._plan.columns)
        if not names:
            return []
        nulls = frame.select(pl.col(names).null_count()).row(0, named=True)
        live = [n for n in names if nulls[n] < self._height]
        ranks = frame.select(hash_ranks(n) for n in live)
        counts = frame.select(pl.col(n).drop_nulls().n_unique() for n in live).row(0, named=True) if live else {}
        units = []
        for name in names:
            series = frame.get_column(name)
            if name in live:
                codes, distinct = _factorize(series, ranks.get_column(name), counts[name])
            elif self.null_logic is NullLogic.SIGMA:  # null on every row: the same leaves every time
                for index in self._null_leaves(name, series.dtype).tolist():
                    self._true[index] = True
                continue
            else:
                codes, distinct = np.zeros(self._height, dtype=np.int64), series.head(0)
            unit = self._column(codes, distinct, self._plan.columns[name])
            if unit is not None:
                units.append(unit)
        return units

    def _null_leaves(self, name: str, dtype: pl.DataType) -> Ints:
        """Leaves of column ``name`` that hold on a null value (computed once per plan)."""
        key = (name, dtype)
        found = self._plan.null_leaves.get(key)
        if found is None:
            unit = self._column(np.zeros(1, dtype=np.int64), pl.Series(name, [], dtype=dtype), self._plan.columns[name])
            found = np.zeros(0, dtype=np.int64) if unit is None else unit.leaves[unit.true[0]]
            self._plan.null_leaves[key] = found
        return found

    def _column(self, codes: Ints, distinct: pl.Series, plan: _ColumnPlan) -> _Unit | None:
        """Answer one column's leaves on its distinct values (and null)."""
        sql = self.null_logic is NullLogic.SQL
        at: list[Ints] = []  # value index of each (value, leaf) pair
        leaf: list[Ints] = []
        false: dict[int, Mask] = {}
        local, local_exprs = list(plan.local), list(plan.local_exprs)
        numeric = distinct.dtype.is_numeric()
        values_np = distinct.to_numpy() if numeric and any(t.kind == "equals" for _, t, _ in plan.tests) else None
        for index, test, expr in plan.tests:
            if test.kind == "equals" and values_np is None:
                local.append(index)  # a column not of the expected (numeric) type
                local_exprs.append(expr)
                continue
            hits = _test_hits(test, len(distinct), values_np)
            at.append(hits)
            leaf.append(np.full(len(hits), index, dtype=np.int64))
            if sql:  # these tests are never unknown on a value, only an equality on null is
                mask = np.zeros(len(distinct) + 1, dtype=np.bool_)
                mask[hits] = True
                false[index] = ~mask if test.kind != "equals" else np.concatenate([[False], ~mask[1:]])
        if local_exprs:
            with_null = pl.concat([pl.Series(distinct.name, [None], dtype=distinct.dtype), distinct])
            values = with_null.to_frame().select(local_exprs)
            for index, column in zip(local, values.get_columns(), strict=True):
                hits = np.flatnonzero(column.fill_null(False).to_numpy())
                at.append(hits)
                leaf.append(np.full(len(hits), index, dtype=np.int64))
                if sql:
                    false[index] = (~column).fill_null(False).to_numpy()
        if len(distinct) and plan.literals:
            text = distinct.cast(pl.String)
            for group in plan.literals:
                found = group.matcher.raw_pairs(text)
                if found is None:
                    found = group.matcher.pairs(wrap_values(text, cased=group.cased, bare=group.bare))
                at.append(found[0] + 1)
                leaf.append(group.leaf_of[found[1]])
        pair_at = np.concatenate(at) if at else np.zeros(0, dtype=np.int64)
        pair_leaf = np.concatenate(leaf) if leaf else np.zeros(0, dtype=np.int64)
        if sql:
            leaves = np.unique(np.concatenate([plan.literal_leaves, plan.local_leaves]))
            position = np.searchsorted(leaves, pair_leaf)
        elif len(pair_leaf) > _TABLE_FROM:  # by a table over all leaves: linear, not a sort
            hit = np.zeros(self._plan.size, dtype=np.bool_)
            hit[pair_leaf] = True
            leaves = np.flatnonzero(hit)
            position = (np.cumsum(hit) - 1)[pair_leaf]
        else:
            leaves, position = np.unique(pair_leaf, return_inverse=True)
        if not len(leaves):
            return None
        true = np.zeros((len(distinct) + 1, len(leaves)), dtype=np.bool_)
        true[pair_at, position] = True
        if not sql:
            return _Unit(codes, leaves, true)
        present = np.arange(len(distinct) + 1) > 0
        false_matrix = present[:, None] & ~true  # literal leaves: false on every other value
        for j, index in enumerate(leaves.tolist()):
            if index in false:
                false_matrix[:, j] = false[index]
        return _Unit(codes, leaves, true, false_matrix)

    # -- rows to signatures -----------------------------------------------------------------------
    def _compress(self, units: list[_Unit]) -> None:
        """Signatures: rows alike for every leaf, found from each unit's value classes."""
        key = np.zeros(self._height, dtype=np.int64)
        span = 1
        spread: list[tuple[_Unit, Mask, Ints]] = []  # unit, class truth, row -> class
        for unit in units:
            packed = np.ascontiguousarray(np.packbits(unit.true, axis=1))
            rows_as_bytes = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
            _, first, value_class = np.unique(rows_as_bytes, return_index=True, return_inverse=True)
            row_class = value_class.reshape(-1)[unit.codes]
            classes = unit.true[first]
            if not len(row_class):
                continue
            if len(first) == 1 or (row_class == row_class[0]).all():  # alike on every row
                for j in np.flatnonzero(classes[row_class[0]]).tolist():
                    self._true[int(unit.leaves[j])] = True
                continue
            if span * len(first) >= _KEY_LIMIT:
                key = np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
                span = int(key.max()) + 1
            key = key * len(first) + row_class
            span *= len(first)
            spread.append((unit, classes, row_class))
        _, first_row, sig = np.unique(key, return_index=True, return_inverse=True)
        self.signature = sig.reshape(-1).astype(np.int64)
        self.size = len(first_row)
        for unit, classes, row_class in spread:
            masks = np.ascontiguousarray(classes[row_class[first_row]].T)
            for j, index in enumerate(unit.leaves.tolist()):
                if masks[j].any():
                    self._true[index] = masks[j]

    def _per_row(self, units: list[_Unit]) -> None:
        """SQL logic: one signature per row, true and false masks for every leaf."""
        self.signature = np.arange(self._height, dtype=np.int64)
        self.size = self._height
        for unit in units:
            assert unit.false is not None
            true, false = unit.true[unit.codes].T, unit.false[unit.codes].T
            for j, index in enumerate(unit.leaves.tolist()):
                self._true[index], self._false[index] = np.ascontiguousarray(true[j]), np.ascontiguousarray(false[j])

    # -- two-valued (Sigma) ---------------------------------------------------------------------
    def truth(self, node: Node) -> Value:
        """Signatures where ``node`` holds, with constants for all/none (Sigma's two-valued logic)."""
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

    def fast(self, tree: Prepared) -> Value:
        """:meth:`truth` of a :func:`prepare`-d tree (Sigma logic only)."""
        kind = tree[0]
        if kind == "any":
            acc: Value = False
            for leaf in tree[1] & self._live:
                value = self._true[leaf]
                if value is True:
                    return True
                acc = value if acc is False else acc | value
            for child in tree[2]:
                value = self.fast(child)
                if value is True:
                    return True
                if value is not False:
                    acc = value if acc is False else acc | value
            return acc
        if kind == "all":
            if not tree[1] <= self._live:
                return False
            acc = True
            values = chain((self._true[leaf] for leaf in tree[1]), (self.fast(child) for child in tree[2]))
            for value in values:  # lazily: children after a false one are never evaluated
                if value is False:
                    return False
                if value is not True:
                    acc = value if acc is True else acc & value
                    if not acc.any():
                        return False
            return acc
        if kind == "leaf":
            return self._true.get(tree[1], False)
        if kind == "not":
            inner = self.fast(tree[1])
            return (not inner) if isinstance(inner, bool) else ~inner
        return False

    # -- three-valued (SQL) ---------------------------------------------------------------------
    def _full(self, value: Value) -> Mask:
        if isinstance(value, bool):
            return np.full(self.size, value, dtype=np.bool_)
        return value

    def pair(self, node: Node) -> tuple[Mask, Mask]:
        """(definitely true, definitely false) rows of ``node`` under SQL's three-valued logic."""
        op = node.op
        if op == "leaf":
            true = self._full(self._true.get(node.leaf, False))
            false = self._false.get(node.leaf)
            return true, (~true if false is None else self._full(false))
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

    def value(self, node: Node) -> Value:
        """Signatures where ``node`` is (definitely) true under this truth's null logic."""
        if self.null_logic is NullLogic.SQL:
            return self.pair(node)[0]
        return self.truth(node)

    def rows(self, value: Value) -> Ints:
        """Frame positions of the rows whose signature ``value`` holds on."""
        if value is True:
            return np.arange(self._height, dtype=np.int64)
        if value is False:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(value[self.signature])

    def matches(self, node: Node) -> Mask:
        """Rows (in frame order) where ``node`` is (definitely) true."""
        mask = np.zeros(self._height, dtype=np.bool_)
        mask[self.rows(self.value(node))] = True
        return mask
