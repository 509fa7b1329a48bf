"""Property tests: the Polars plan of a Sigma string agrees with a plain-regex oracle."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.types import SigmaString

from watchhouse.sigma.matching import StringOp, StringPart, plan_string, reference_match

ALPHABET = "aAbB.\\-*?é "
texts = st.text(alphabet=ALPHABET, max_size=8)


def polars_match(value: str, parts: list[StringPart], cased: bool) -> bool:
    plan = plan_string(parts, cased=cased)
    column = pl.Series([value]) if cased else pl.Series([value]).str.to_lowercase()
    ops = {
        StringOp.EQUALS: lambda: column == plan.operand,
        StringOp.STARTS_WITH: lambda: column.str.starts_with(plan.operand),
        StringOp.ENDS_WITH: lambda: column.str.ends_with(plan.operand),
        StringOp.CONTAINS: lambda: column.str.contains(plan.operand, literal=True),
        StringOp.REGEX: lambda: column.str.contains(plan.operand),
        StringOp.ANY: lambda: column.is_not_null(),
    }
    return bool(ops[plan.op]()[0])


@settings(max_examples=300, deadline=None)
@given(pattern=texts, value=texts, cased=st.booleans())
def test_plan_agrees_with_oracle(pattern: str, value: str, cased: bool) -> None:
    parts = list(SigmaString(pattern).s)
    assert polars_match(value, parts, cased) == reference_match(value, parts, cased=cased)


@settings(max_examples=200, deadline=None)
@given(literal=st.text(alphabet="abc.\\ ", min_size=1, max_size=6), value=texts)
def test_contains_plan_is_a_literal_search(literal: str, value: str) -> None:
    escaped = literal.replace("\\", "\\\\")
    parts = list(SigmaString(f"*{escaped}*").s)
    assert plan_string(parts).op is StringOp.CONTAINS
    assert polars_match(value, parts, False) == (literal.lower() in value.lower())
