"""Multi-pattern leaf evaluation: both engines agree with Sigma's reference string semantics."""

from __future__ import annotations

import string

import numpy as np
import orjson
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sigma.types import SpecialChars

from watchhouse.detectors.web.engines import EngineName
from watchhouse.sigma.compiler import KEYWORD_COLUMN, LeafTable, NullLogic, RuleCompiler, _literal
from watchhouse.sigma.evaluate import LeafPlan, LeafTruth, _factorize, hash_ranks
from watchhouse.sigma.frames import LOWERS_TO_ASCII, keyword_needle, keyword_text, records_frame
from watchhouse.sigma.literals import HyperscanLiteralMatcher, SplitLiteralMatcher, holding, wrap_values
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
    ranks = series.to_frame().select(hash_ranks("f")).to_series()
    codes, distinct = _factorize(series, ranks, 2)
    assert codes[1] == codes[5] == 0
    assert [distinct[int(c) - 1] for c in codes if c] == ["b", "a", "b", "a"]


def test_factorize_survives_a_hash_collision() -> None:
    series = pl.Series("f", ["x", "y", "x", None])
    colliding = pl.Series([1, 1, 1, None], dtype=pl.UInt32)  # "x" and "y" "hash" alike
    codes, distinct = _factorize(series, colliding, series.drop_nulls().n_unique())
    assert [distinct[int(c) - 1] if c else None for c in codes] == ["x", "y", "x", None]


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


@settings(max_examples=60, deadline=None)
@given(
    patterns=st.lists(st.lists(PART, min_size=1, max_size=4), min_size=1, max_size=6),
    values=st.lists(st.text(alphabet=ALPHABET + "\n", max_size=8), max_size=8, unique=True),
)
def test_bulk_aho_corasick_path_finds_the_same_pairs(patterns: list[list[StringPart]], values: list[str]) -> None:
    """Many distinct values go to Polars' automaton plus one joined wildcard scan; the leaves they
    make true are the ones the value-by-value Hyperscan scan makes true."""
    literals = list({lit for p in patterns if (lit := _literal("f", plan_string(p))) is not None})
    assume(literals)
    wrapped = wrap_values(pl.Series(values, dtype=pl.String), cased=False)
    each = HyperscanLiteralMatcher(literals).pairs(wrapped)
    bulk = SplitLiteralMatcher(literals, bulk_from=0).pairs(wrapped)
    assert set(zip(*map(np.ndarray.tolist, each), strict=True)) == set(zip(*map(np.ndarray.tolist, bulk), strict=True))


@settings(max_examples=80, deadline=None)
@given(
    needles=st.lists(st.text(alphabet="aBk.\u0130 ", min_size=1, max_size=3), min_size=1, max_size=4),
    texts=st.lists(st.one_of(st.none(), st.text(alphabet="AbKk.\u0130\u212a \n", max_size=10)), max_size=8),
)
def test_needle_prefilter_never_misses_a_text(needles: list[str], texts: list[str | None]) -> None:
    """Both engines flag every text that holds a needle, ASCII case aside (the raw-buffer scan may
    flag more: a needle straddling two texts), and never a null."""
    series = pl.Series(texts, dtype=pl.String)
    fold = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # ASCII case only
    expected = [t is not None and any(n.translate(fold) in t.translate(fold) for n in needles) for t in texts]
    for engine in (EngineName.HYPERSCAN, EngineName.POLARS):
        found = holding(series, tuple(needles), engine).tolist()
        assert all(f for f, e in zip(found, expected, strict=True) if e)
        assert not any(f for f, t in zip(found, texts, strict=True) if t is None)


KEYWORD_ALPHABET = 'aAkK\\"\n{}:é\u0130\u212a'


@settings(max_examples=150, deadline=None)
@given(
    keywords=st.lists(st.text(alphabet=KEYWORD_ALPHABET, min_size=1, max_size=4), min_size=1, max_size=4),
    values=st.lists(st.text(alphabet=KEYWORD_ALPHABET, max_size=6), min_size=1, max_size=6),
    channel=st.text(alphabet=KEYWORD_ALPHABET, max_size=4),
)
def test_keyword_needles_hold_in_the_json_whenever_the_text_matches(
    keywords: list[str], values: list[str], channel: str
) -> None:
    """The prefilter's premise (ADR 0011): when a row's keyword text matches a keyword, the
    keyword's needle is in the row's JSON or channel (ASCII case aside), or the row holds a
    character whose lower case is ASCII."""
    data = pl.Series([orjson.dumps({f"k{i}": v for i, v in enumerate(values)}).decode()])
    text = keyword_text(data, pl.Series([channel]))[0].lower()
    raw = (data[0] + "\n" + channel).lower()
    for word in keywords:
        literal = _literal(
            KEYWORD_COLUMN, plan_string([SpecialChars.WILDCARD_MULTI, word, SpecialChars.WILDCARD_MULTI])
        )
        assume(literal is not None)
        assert literal is not None
        needle = keyword_needle(literal)
        if word.lower() in text and not any(c in raw for c in LOWERS_TO_ASCII):
            assert needle == "" or needle.lower() in raw


def test_signatures_compress_rows_without_changing_any_leaf() -> None:
    """Rows alike for every leaf share a signature; row masks equal those of per-row logic."""
    compiler = RuleCompiler(LeafTable())
    nodes = [
        compiler._string("f", plan_string([SpecialChars.WILDCARD_MULTI, "cmd", SpecialChars.WILDCARD_MULTI])),
        compiler._string("f", plan_string(["a", SpecialChars.WILDCARD_MULTI])),
        compiler._string("g", plan_string(["x"])),
    ]
    values: list[dict[str, object]] = [
        {"f": "a cmd", "g": "x"},
        {"f": "A CMD", "g": "X"},
        {"f": "b", "g": "x"},
        {"f": "a", "g": None},
        {"f": None, "g": "y"},
        {"f": "a cmd /c", "g": "x"},
    ]
    plan = LeafPlan(compiler.leaves.leaves)
    truth = LeafTruth(records_frame(values, {"f", "g"}, frozenset()), plan, NullLogic.SIGMA)
    assert truth.size == 4  # rows 0, 1 and 5 are alike for every leaf; 2, 3 and 4 each differ
    assert [truth.matches(n).tolist() for n in nodes] == [
        [True, True, False, False, False, True],
        [True, True, False, True, False, True],
        [True, True, True, False, False, True],
    ]
