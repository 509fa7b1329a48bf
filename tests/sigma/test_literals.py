"""Multi-pattern leaf evaluation: both engines agree with Sigma's reference string semantics."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sigma.types import SpecialChars

from watchhouse.detectors.web.engines import EngineName
from watchhouse.sigma.compiler import LeafTable, NullLogic, RuleCompiler, _literal
from watchhouse.sigma.evaluate import LeafPlan, LeafTruth, _factorize
from watchhouse.sigma.frames import records_frame
from watchhouse.sigma.literals import HyperscanLiteralMatcher, wrap_values
from watchhouse.sigma.matching import StringPart, plan_string, reference_match

ALPHABET = "aAbB\\.*?\x02\x03é"
PART = st.one_of(
    st.text(alphabet=ALPHABET, min_size=1, max_size=4),
    st.sampled_from([SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE]),
)
VALUE = st.one_of(st.none(), st.text(alphabet=ALPHABET + "\n", max_size=8))


def _truth(patterns: list[list[StringPart]], values: list[str | None], engine: EngineName) -> list[list[bool]]:
    compiler = RuleCompiler(LeafTable())
    nodes = [compiler._string("f", plan_string(p)) for p in patterns]
    lowered = frozenset().union(*(leaf.lowered for leaf in compiler.leaves.leaves))
    frame = records_frame([{"f": v} for v in values], {"f"}, lowered)
    truth = LeafTruth(frame, LeafPlan(compiler.leaves.leaves, engine), NullLogic.SIGMA)
    return [truth.matches(n).tolist() for n in nodes]


@pytest.mark.parametrize("engine", [EngineName.HYPERSCAN, EngineName.POLARS])
@settings(max_examples=60, deadline=None)
@given(
    patterns=st.lists(st.lists(PART, min_size=1, max_size=4), min_size=1, max_size=6),
    values=st.lists(VALUE, max_size=8),
)
def test_leaves_match_like_the_reference(
    engine: EngineName, patterns: list[list[StringPart]], values: list[str | None]
) -> None:
    expected = [[reference_match(v, p) for v in values] for p in patterns]
    assert _truth(patterns, values, engine) == expected


def test_factorize_codes_and_distinct_values() -> None:
    series = pl.Series("f", ["b", None, "a", "b", "a", None])
    hashes = series.hash(seed=0).to_numpy()
    codes, distinct = _factorize(series, hashes, series.is_not_null().to_numpy())
    assert codes[1] == codes[5] == 0
    assert [distinct[int(c) - 1] for c in codes if c] == ["b", "a", "b", "a"]


def test_factorize_survives_a_hash_collision() -> None:
    series = pl.Series("f", ["x", "y", "x"])
    colliding = np.zeros(3, dtype=np.uint64)  # every value "hashes" alike
    codes, distinct = _factorize(series, colliding, np.ones(3, dtype=np.bool_))
    assert [distinct[int(c) - 1] for c in codes] == ["x", "y", "x"]


@settings(max_examples=60, deadline=None)
@given(
    patterns=st.lists(st.lists(PART, min_size=1, max_size=4), min_size=1, max_size=6),
    values=st.lists(VALUE, max_size=8),
)
def test_joined_scan_finds_the_same_pairs(patterns: list[list[StringPart]], values: list[str | None]) -> None:
    """The keyword column's one-call scan over joined values equals scanning value by value."""
    literals = [lit for p in patterns if (lit := _literal("f", plan_string(p))) is not None]
    assume(literals)
    wrapped = wrap_values(pl.Series([v for v in values if v is not None], dtype=pl.String), cased=False)
    one = HyperscanLiteralMatcher(literals).pairs(wrapped)
    joined = HyperscanLiteralMatcher(literals, joined=True).pairs(wrapped)
    assert sorted(zip(*map(np.ndarray.tolist, one), strict=True)) == sorted(
        zip(*map(np.ndarray.tolist, joined), strict=True)
    )


RAW_ALPHABET = "aAbBiIkK\\.é\u0130\u212a\u017f\x02 "
RAW_PART = st.one_of(
    st.text(alphabet="aAbBiIkK\\. ", min_size=1, max_size=4),
    st.sampled_from([SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE]),
)


@settings(max_examples=150, deadline=None)
@given(
    patterns=st.lists(st.lists(RAW_PART, min_size=1, max_size=4), min_size=1, max_size=6),
    values=st.lists(st.text(alphabet=RAW_ALPHABET + "\n", max_size=8), max_size=8),
)
def test_caseless_raw_scan_equals_scanning_lower_cased_values(
    patterns: list[list[StringPart]], values: list[str]
) -> None:
    """Keyword text scanned as it is (caseless ASCII) finds what the lower-cased, wrapped text
    finds; values where the two would differ (Turkish dotted I, Kelvin sign, sentinels) are
    declined, so the caller takes the exact path."""
    literals = [lit for p in patterns if (lit := _literal("f", plan_string(p))) is not None]
    assume(literals)
    series = pl.Series(values, dtype=pl.String)
    matcher = HyperscanLiteralMatcher(literals, joined=True)
    raw = matcher.raw_pairs(series)
    unsafe = any(c in v for v in values for c in "\u0130\u212a\x02")
    assert (raw is None) == unsafe
    if raw is not None:
        wrapped = matcher.pairs(wrap_values(series, cased=False))
        assert sorted(zip(*map(np.ndarray.tolist, raw), strict=True)) == sorted(
            zip(*map(np.ndarray.tolist, wrapped), strict=True)
        )
