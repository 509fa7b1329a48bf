"""Sigma condition trees compiled to Polars expressions over shared leaf predicates.

pySigma parses each rule, applies its value modifiers (contains, all, base64offset, windash,
cidr, re, ...) and resolves the condition (``1 of selection_*``, ``all of them``, ``not``) into a
tree of AND/OR/NOT over *field = value* and *keyword* leaves. This module turns the leaves into
Polars predicates and the tree into boolean algebra over them. Leaves are interned in a
:class:`LeafTable`: across a SigmaHQ pack the same test (``Image|endswith: \\powershell.exe``)
occurs in dozens of rules, and the engine computes each distinct leaf once per batch.

Null handling: Sigma says a missing field matches no value, so under ``not`` it counts as a
non-match that is then negated (two-valued logic, :attr:`NullLogic.SIGMA`). SQL engines use
three-valued logic instead, where ``NOT (NULL LIKE x)`` stays unknown; :attr:`NullLogic.SQL`
reproduces that so the differential test compares like with like.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import polars as pl
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from watchhouse.sigma.matching import StringOp, StringPlan, plan_string

#: Column holding the text that keyword (field-less) detections search.
KEYWORD_COLUMN = "\x1fkeywords"
_LOWER_SUFFIX = "\x1flc"


class Unsupported(Exception):  # noqa: N818 - a verdict on a rule, not a failure of ours
    """A rule, or a part of it, that this engine cannot evaluate; the message says why."""


class NullLogic(StrEnum):
    SIGMA = "sigma"
    SQL = "sql"


def lower_column(name: str) -> str:
    """Name of the per-batch lower-cased copy of column ``name``."""
    return name + _LOWER_SUFFIX


#: Marks a value's start and end for anchored literal patterns (see :class:`Literal`).
VALUE_START, VALUE_END = "\x02", "\x03"
#: What sentinel characters inside a value become, so a value never looks anchored mid-way.
SENTINEL_STANDIN = "\x00"
_SENTINELS = frozenset(VALUE_START + VALUE_END + SENTINEL_STANDIN)


@dataclass(frozen=True)
class Literal:
    """A leaf that is one literal occurrence test: the multi-pattern path handles all of these.

    Why: SigmaHQ's Windows rules hold ~32,000 distinct contains/startswith/endswith/equals tests.
    Run one by one they cost one column scan each; as literals they go into one multi-pattern
    automaton per column, scanned once per distinct value. ``pattern`` is the operand wrapped in
    value sentinels where anchored (``VALUE_START + x`` for startswith, ``x + VALUE_END`` for
    endswith, both for equality); values are wrapped the same way, so anchoring is plain substring
    search. ``cased`` patterns search the value as is, the others its lower-cased form.
    """

    column: str
    pattern: str
    cased: bool
    #: ``pattern`` is a Hyperscan expression (a wildcard value), not a literal
    regex: bool = False
    #: ``pattern`` is a rule's own regular expression (``|re``): searched in the bare value
    #: (no sentinels), with these flags (``i``, ``m``, ``s``); engines that reject it fall back
    #: to the leaf's expression
    search: bool = False
    flags: str = ""
    #: text every matching value contains (lower-cased unless ``cased``; empty when unknown, as
    #: for rule regexes): lets a prefilter over *other* text (raw JSON) rule values out cheaply
    needle: str = ""


@dataclass(frozen=True)
class ValueTest:
    """A one-column test answered on a column's distinct values without a Polars call: the value
    is missing (``null``), present (``present``), or ``equals`` a number (numeric columns).

    Why: a SigmaHQ Windows pack holds hundreds of ``EventID`` equalities (routing and
    selections) and a null/exists test on many columns; as Polars expressions each costs a
    planner round per batch, as one NumPy comparison over a few dozen distinct values almost
    nothing.
    """

    kind: str
    number: int | float = 0


@dataclass(frozen=True)
class Leaf:
    """One distinct predicate; ``lowered`` lists the columns it reads lower-cased.

    ``expr`` always computes the leaf; ``literal`` or ``test``, when set, is the faster
    equivalent that the evaluator prefers (it reads ``columns`` directly, lower-casing distinct
    values itself).
    """

    expr: pl.Expr
    columns: frozenset[str]
    lowered: frozenset[str]
    literal: Literal | None = None
    test: ValueTest | None = None


@dataclass
class LeafTable:
    """Interned leaf predicates shared by all rules of a pack."""

    leaves: list[Leaf] = field(default_factory=list)
    index: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def add(self, key: tuple[Any, ...], make: Callable[[], Leaf]) -> Node:
        at = self.index.get(key)
        if at is None:
            at = len(self.leaves)
            self.leaves.append(make())
            self.index[key] = at
        return Node("leaf", leaf=at)


def leaf_column(index: int) -> str:
    return f"\x1fleaf{index}"


@dataclass(frozen=True)
class Node:
    """Boolean algebra over leaf indices: ``op`` is ``leaf``, ``and``, ``or``, ``not`` or ``false``."""

    op: str
    args: tuple[Node, ...] = ()
    leaf: int = -1


FALSE = Node("false")


def any_of(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else Node("or", tuple(nodes))


def all_of(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else Node("and", tuple(nodes))


FieldResolver = Callable[[str], str]
PlaceholderValues = Mapping[str, list[str]]


@dataclass
class RuleCompiler:
    """Compiles rules against one column layout.

    :param numeric_columns: columns of integer type (``EventID``); all others are text.
    :param placeholders: values for ``%name%`` placeholders of the ``expand`` modifier; a rule
        using a placeholder without values is unsupported, and says which.
    """

    leaves: LeafTable
    numeric_columns: frozenset[str] = frozenset()
    placeholders: PlaceholderValues = field(default_factory=dict)
    null_logic: NullLogic = NullLogic.SIGMA

    def compile(self, rule: SigmaRule, resolve: FieldResolver = lambda f: f) -> Node:
        """The rule's detection as boolean algebra over interned leaves."""
        parts: list[Node] = []
        try:
            conditions = rule.detection.parsed_condition
            for condition in conditions:
                tree = condition.parse()
                if tree is None:
                    raise Unsupported("condition resolves to nothing")
                parts.append(self._node(tree, resolve))
        except SigmaError as exc:
            raise Unsupported(f"condition: {exc.args[0] if exc.args else exc}") from exc
        if not parts:
            raise Unsupported("rule has no condition")
        return any_of(parts)

    # -- condition tree -----------------------------------------------------------------------
    def _node(self, node: Any, resolve: FieldResolver) -> Node:
        if isinstance(node, ConditionAND):
            return all_of([self._node(a, resolve) for a in node.args])
        if isinstance(node, ConditionOR):
            return any_of([self._node(a, resolve) for a in node.args])
        if isinstance(node, ConditionNOT):
            return Node("not", (self._node(node.args[0], resolve),))
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self._value(resolve(node.field), node.value, resolve)
        if isinstance(node, ConditionValueExpression):
            return self._keyword(node.value)
        raise Unsupported(f"condition element {type(node).__name__}")

    # -- leaves -------------------------------------------------------------------------------
    def _leaf(
        self,
        key: tuple[Any, ...],
        expr: pl.Expr,
        columns: Iterable[str],
        lowered: Iterable[str],
        literal: Literal | None = None,
    ) -> Node:
        cols, low = frozenset(columns), frozenset(() if literal else lowered)
        return self.leaves.add((self.null_logic, *key), lambda: Leaf(expr, cols, low, literal))

    def _value(self, column: str, value: SigmaType, resolve: FieldResolver) -> Node:
        if isinstance(value, SigmaExpansion):
            return any_of([self._value(column, v, resolve) for v in value.values])
        if isinstance(value, SigmaString):
            strings = self._expand(value)
            cased = isinstance(value, SigmaCasedString)
            exprs = [self._string(column, plan_string(list(s.s), cased=cased)) for s in strings]
            return any_of(exprs)
        if isinstance(value, SigmaTimestampPart):
            raise Unsupported("timestamp part modifiers (minute, hour, ...) are not supported")
        if isinstance(value, SigmaNumber):
            return self._number(column, value.number)
        if isinstance(value, SigmaBool):
            text = "true" if value.boolean else "false"
            return self._string(column, StringPlan(StringOp.EQUALS, text, cased=False))
        if isinstance(value, SigmaNull):
            return self.leaves.add(
                ("null", column),
                lambda: Leaf(pl.col(column).is_null(), frozenset({column}), frozenset(), test=ValueTest("null")),
            )
        if isinstance(value, SigmaExists):
            return self._exists(column, value.exists)
        if isinstance(value, SigmaRegularExpression):
            return self._regex(column, value)
        if isinstance(value, SigmaCIDRExpression):
            prefixes = value.expand(wildcard="*")
            exprs = [self._string(column, plan_string(list(SigmaString(p).s))) for p in prefixes]
            return any_of(exprs)
        if isinstance(value, SigmaCompareExpression):
            return self._compare(column, value)
        if isinstance(value, SigmaFieldReference):
            return self._fieldref(column, resolve(value.field), value)
        raise Unsupported(f"value type {type(value).__name__} is not supported")

    def _expand(self, value: SigmaString) -> list[SigmaString]:
        if not value.contains_placeholder():
            return [value]
        missing = sorted({p.name for p in value.s if isinstance(p, Placeholder) and p.name not in self.placeholders})
        if missing:
            raise Unsupported(f"placeholder {', '.join('%' + m + '%' for m in missing)} has no configured values")

        def values(p: Placeholder) -> Any:
            # configured values may hold wildcards, so they are Sigma strings, not literals
            return iter([SigmaString(v) for v in self.placeholders[p.name]])

        return value.replace_placeholders(values)

    def equals(self, column: str, value: str | int) -> Node:
        """Case-insensitive equality leaf, as log-source routing needs."""
        if isinstance(value, int):
            return self._number(column, value)
        return self._string(column, StringPlan(StringOp.EQUALS, value.lower(), cased=False))

    def _string(self, column: str, plan: StringPlan) -> Node:
        source = column if plan.cased else lower_column(column)
        col = pl.col(source)
        lowered = () if plan.cased else (column,)
        if plan.op is StringOp.EQUALS and column in self.numeric_columns:
            return self._numeric_text(column, plan.operand)
        ops: dict[StringOp, Callable[[], pl.Expr]] = {
            StringOp.EQUALS: lambda: col == plan.operand,
            StringOp.STARTS_WITH: lambda: col.str.starts_with(plan.operand),
            StringOp.ENDS_WITH: lambda: col.str.ends_with(plan.operand),
            StringOp.CONTAINS: lambda: col.str.contains(plan.operand, literal=True),
            StringOp.REGEX: lambda: col.str.contains(plan.operand),
            StringOp.ANY: lambda: pl.col(column).is_not_null(),
        }
        if plan.op is StringOp.ANY:
            lowered = ()
        if column in self.numeric_columns:
            # wildcards against an integer column compare its decimal text
            source = column
            col = pl.col(column).cast(pl.String)
            lowered = ()
        literal = None
        if column not in self.numeric_columns:
            literal = _literal(column, plan)
        return self._leaf(("str", source, plan.op, plan.operand), ops[plan.op](), (column,), lowered, literal)

    def _numeric_text(self, column: str, text: str) -> Node:
        try:
            number = int(text)
        except ValueError:
            return FALSE
        return self._number(column, number)

    def _number(self, column: str, number: int | float) -> Node:
        if column in self.numeric_columns:
            expr, test = pl.col(column) == number, ValueTest("equals", number)
            return self.leaves.add(
                (self.null_logic, "num", column, number),
                lambda: Leaf(expr, frozenset({column}), frozenset(), test=test),
            )
        return self._string(column, StringPlan(StringOp.EQUALS, str(number).lower(), cased=False))

    def _exists(self, column: str, exists: bool) -> Node:
        expr = pl.col(column).is_not_null() if exists else pl.col(column).is_null()
        test = ValueTest("present" if exists else "null")
        return self.leaves.add(
            ("exists", column, exists), lambda: Leaf(expr, frozenset({column}), frozenset(), test=test)
        )

    def _regex(self, column: str, value: SigmaRegularExpression) -> Node:
        if value.regexp.contains_placeholder():
            raise Unsupported("placeholders inside regular expressions are not supported")
        flags = "".join(
            letter
            for flag, letter in (
                (SigmaRegularExpressionFlag.IGNORECASE, "i"),
                (SigmaRegularExpressionFlag.MULTILINE, "m"),
                (SigmaRegularExpressionFlag.DOTALL, "s"),
            )
            if flag in value.flags
        )
        pattern = (f"(?{flags})" if flags else "") + str(value.regexp)
        try:
            pl.Series([""], dtype=pl.String).str.contains(pattern)
        except pl.exceptions.ComputeError as exc:
            raise Unsupported(f"regular expression not supported by the Rust regex engine: {pattern!r}") from exc
        col = pl.col(column).cast(pl.String) if column in self.numeric_columns else pl.col(column)
        literal = None
        if column not in self.numeric_columns:
            literal = Literal(column, str(value.regexp), cased=True, regex=True, search=True, flags=flags)
        return self._leaf(("re", column, pattern), col.str.contains(pattern), (column,), (), literal)

    def _compare(self, column: str, value: SigmaCompareExpression) -> Node:
        number = value.number.number
        col = pl.col(column) if column in self.numeric_columns else pl.col(column).cast(pl.Float64, strict=False)
        ops: dict[CompareOperators, Callable[[], pl.Expr]] = {
            CompareOperators.LT: lambda: col < number,
            CompareOperators.LTE: lambda: col <= number,
            CompareOperators.GT: lambda: col > number,
            CompareOperators.GTE: lambda: col >= number,
        }
        make = ops.get(value.op)
        if make is None:  # NEQ exists in pySigma 2
            make = lambda: col != number  # noqa: E731
        return self._leaf(("cmp", column, value.op.name, number), make(), (column,), ())

    def _fieldref(self, column: str, other: str, value: SigmaFieldReference) -> Node:
        a, b = pl.col(lower_column(column)), pl.col(lower_column(other))
        if value.starts_with and value.ends_with:
            expr = a.str.contains(b, literal=True)
        elif value.starts_with:
            expr = a.str.starts_with(b)
        elif value.ends_with:
            expr = a.str.ends_with(b)
        else:
            expr = a == b
        key = ("ref", column, other, value.starts_with, value.ends_with)
        return self._leaf(key, expr, (column, other), (column, other))

    def _keyword(self, value: SigmaType) -> Node:
        if isinstance(value, SigmaExpansion):
            return any_of([self._keyword(v) for v in value.values])
        if isinstance(value, SigmaRegularExpression):
            return self._regex(KEYWORD_COLUMN, value)
        if isinstance(value, SigmaNumber | SigmaBool):
            value = SigmaString(str(value.number if isinstance(value, SigmaNumber) else value.boolean).lower())
        if not isinstance(value, SigmaString):
            raise Unsupported(f"keyword of type {type(value).__name__} is not supported")
        out = []
        for s in self._expand(value):
            parts = list(s.s)
            if not parts or parts[0] is not SpecialChars.WILDCARD_MULTI:
                parts.insert(0, SpecialChars.WILDCARD_MULTI)
            if parts[-1] is not SpecialChars.WILDCARD_MULTI:
                parts.append(SpecialChars.WILDCARD_MULTI)
            out.append(self._string(KEYWORD_COLUMN, plan_string(parts, cased=isinstance(value, SigmaCasedString))))
        return any_of(out)


_ANCHORS: dict[StringOp, tuple[str, str]] = {
    StringOp.EQUALS: (VALUE_START, VALUE_END),
    StringOp.STARTS_WITH: (VALUE_START, ""),
    StringOp.ENDS_WITH: ("", VALUE_END),
    StringOp.CONTAINS: ("", ""),
}


def _hyperscan_text(text: str) -> str:
    """``text`` as a Hyperscan (UTF-8 mode) literal: ASCII punctuation hex-escaped."""
    return "".join(c if c.isalnum() or ord(c) > 127 else f"\\x{ord(c):02x}" for c in text)


def _literal(column: str, plan: StringPlan) -> Literal | None:
    """The multi-pattern form of a string test, or None where only the expression is exact."""
    if plan.op is StringOp.REGEX and plan.parts:
        if any(isinstance(p, str) and not _SENTINELS.isdisjoint(p) for p in plan.parts):
            return None
        # wildcards never cross a value's sentinels, so many wrapped values may be scanned joined
        within = f"[^{_hyperscan_text(VALUE_START)}{_hyperscan_text(VALUE_END)}]"
        body = "".join(
            within + "*"
            if p is SpecialChars.WILDCARD_MULTI
            else within
            if p is SpecialChars.WILDCARD_SINGLE
            else _hyperscan_text(str(p))
            for p in plan.parts
        )
        needle = max((p for p in plan.parts if isinstance(p, str)), key=len, default="")
        pattern = f"{_hyperscan_text(VALUE_START)}{body}{_hyperscan_text(VALUE_END)}"
        return Literal(column, pattern, plan.cased, True, needle=needle)
    anchors = _ANCHORS.get(plan.op)
    if anchors is None or not _SENTINELS.isdisjoint(plan.operand):
        return None
    if plan.op is not StringOp.EQUALS and not plan.operand:
        return None
    return Literal(column, anchors[0] + plan.operand + anchors[1], plan.cased, needle=plan.operand)
