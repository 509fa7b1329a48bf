"""Boolean algebra of rule trees over per-batch leaf truth tables, in NumPy.

Polars computes the leaf predicates (the string work); combining thousands of rules over those
leaves is cheap bitwise work that NumPy does without Polars' per-expression planning cost.
Each value is a pair of masks (definitely true, definitely false), which expresses both Sigma's
two-valued logic (false = not true) and SQL's three-valued one (neither = unknown).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from watchhouse.sigma.compiler import Leaf, Node, NullLogic

Mask = npt.NDArray[np.bool_]
Truth = tuple[Mask, Mask]


class LeafTruth:
    """Truth of every leaf on one frame, computed in one Polars ``select``."""

    def __init__(self, frame: pl.DataFrame, leaves: list[Leaf], null_logic: NullLogic) -> None:
        self.rows = frame.height
        values = frame.select(leaf.expr.alias(str(i)) for i, leaf in enumerate(leaves)) if leaves else pl.DataFrame()
        self._true: list[Mask] = []
        self._false: list[Mask] = []
        for column in values.get_columns():
            true = column.fill_null(False).to_numpy()
            self._true.append(true)
            if null_logic is NullLogic.SIGMA:
                self._false.append(~true)
            else:
                self._false.append((~column).fill_null(False).to_numpy())
        self._none = np.zeros(self.rows, dtype=np.bool_)
        self._all = np.ones(self.rows, dtype=np.bool_)

    def evaluate(self, node: Node) -> Truth:
        op = node.op
        if op == "leaf":
            return self._true[node.leaf], self._false[node.leaf]
        if op == "not":
            true, false = self.evaluate(node.args[0])
            return false, true
        if op == "false":
            return self._none, self._all
        parts = [self.evaluate(a) for a in node.args]
        if op == "and":
            true = np.logical_and.reduce([p[0] for p in parts])
            false = np.logical_or.reduce([p[1] for p in parts])
        elif op == "or":
            true = np.logical_or.reduce([p[0] for p in parts])
            false = np.logical_and.reduce([p[1] for p in parts])
        else:
            raise ValueError(f"unknown node {op!r}")
        return true, false

    def matches(self, node: Node) -> Mask:
        return self.evaluate(node)[0]
