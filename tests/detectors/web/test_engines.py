"""Hyperscan and Polars engines must report the same rule hits; Hyperscan is only faster.

The corpus comparison sends every HttpParamsDataset payload (sqli, xss, cmdi, traversal and
ordinary values) through both matchers, with the prefilter off so every part is compared.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote_plus

import polars as pl
import pytest

from watchhouse.detectors.web import prefilter
from watchhouse.detectors.web.engines import (
    EngineName,
    HyperscanColumnScanner,
    PatternSet,
    PolarsColumnScanner,
    hyperscan_available,
    resolve_engine,
)
from watchhouse.detectors.web.matching import Matcher, Part, request_parts
from watchhouse.detectors.web.rules import default_rules

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="the hyperscan wheel is not installed here")

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "web.attack_patterns"


def _hits(matcher: Matcher, parts: list[Part]) -> list[tuple[int, str]]:
    return [(index, hit.rule.id) for index, hit in matcher.match(parts)]


def _sample_parts() -> list[Part]:
    parts: list[Part] = []
    for name in ("positive.log", "near_miss.log"):
        for line in (SAMPLES / name).read_text().splitlines():
            if line and not line.startswith("#"):
                request = line.split('"')[1]
                agent = line.split('"')[-2]
                parts.extend(request_parts(request.split(" ")[1], None, None, agent, None))
    return parts


def test_both_engines_find_the_same_hits_on_the_samples() -> None:
    rules = default_rules()
    parts = _sample_parts()
    hs_hits = _hits(Matcher(rules, prefilter.part_symptoms(), EngineName.HYPERSCAN), parts)
    assert hs_hits, "the positive samples must hit"
    assert hs_hits == _hits(Matcher(rules, prefilter.part_symptoms(), EngineName.POLARS), parts)


@pytest.mark.corpus
def test_both_engines_find_the_same_hits_on_http_params(corpora: Path) -> None:
    frame = pl.read_csv(corpora / "web" / "httpparamsdataset" / "payload_full.csv")
    parts = [
        p
        for payload in frame["payload"].to_list()
        for p in request_parts("/s?q=" + quote_plus(payload), None, None, None, None)
    ]
    parts += [Part(p.target, p.name, p.raw + " \u00e9\u6f22" + p.raw) for p in parts[:2000]]  # non-ASCII mixed in
    rules = default_rules()
    hs_hits = _hits(Matcher(rules, None, EngineName.HYPERSCAN), parts)
    assert len(hs_hits) > 20_000
    assert hs_hits == _hits(Matcher(rules, None, EngineName.POLARS), parts)


@pytest.mark.parametrize(
    "values",
    [
        ["/a?x=1", None, "", "/b?q=%27%20or%201=1", "/c", "/d?q=<script>"],
        ["\u00e9\u00e9/../etc/passwd", "plain", "x;ls -la /", None],
        [None, None],
        [],
    ],
)
def test_column_scanners_agree_row_by_row(values: list[str | None]) -> None:
    column = pl.Series("url.original", values, dtype=pl.String)
    fast = HyperscanColumnScanner(prefilter.URL_PATTERN).flags(column).to_list()
    assert fast == PolarsColumnScanner(prefilter.URL_PATTERN).flags(column).to_list()


def test_pattern_set_reports_character_offsets_and_spans() -> None:
    patterns = PatternSet([r"union\s+select", r"<script"])
    text = "\u00e9\u00e9 1 union  select 2 <script>"
    found = patterns.matching(text)
    assert [pid for pid, _ in found] == [0, 1]
    start, end = patterns.span(0, text, found[0][1])
    assert text[start:end] == "union  select"
    with pytest.raises(ValueError, match="not ASCII"):
        PatternSet(["\u00e9"])


def test_engine_resolution() -> None:
    assert resolve_engine("auto") is EngineName.HYPERSCAN
    assert resolve_engine("polars") is EngineName.POLARS
    with pytest.raises(ValueError):
        resolve_engine("re2")


def test_column_scanner_scans_repeated_values_once_and_flags_every_row() -> None:
    """Rows repeating a value (the same agent on every request) get that value's verdict."""
    values = ["/a", "/b?q=%27%20or%201=1", None, "/a", "", "/b?q=%27%20or%201=1", "/c/../etc/passwd"] * 50
    column = pl.Series("url.original", values, dtype=pl.String)
    flags = HyperscanColumnScanner(prefilter.URL_PATTERN).flags(column)
    assert flags.name == "url.original"
    assert flags.to_list() == PolarsColumnScanner(prefilter.URL_PATTERN).flags(column).to_list()
    assert flags.to_list()[:7] == [False, True, False, False, False, True, True]
