"""Hyperscan and Polars engines must report the same rule hits; Hyperscan is only faster.

The corpus comparison sends every HttpParamsDataset payload (sqli, xss, cmdi, traversal and
ordinary values) through both matchers, with the prefilter off so every part is compared.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.core.events import Dataset
from watchhouse.detectors.web import prefilter
from watchhouse.detectors.web.engines import (
    EngineName,
    HyperscanColumnScanner,
    PatternSet,
    PolarsColumnScanner,
    compile_database,
    hyperscan_available,
    prune_cache,
    resolve_engine,
)
from watchhouse.detectors.web.matching import Matcher, Part, request_parts
from watchhouse.detectors.web.policy import COLUMN_SYMPTOMS
from watchhouse.detectors.web.rules import default_rules
from watchhouse.testing.factories import make_batch

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


@pytest.mark.parametrize("repeat", [1, 40], ids=["distinct values", "repeated values"])
def test_several_patterns_in_one_scan_flag_as_each_alone(repeat: int) -> None:
    """The prefilter and the request policy share one scan of the URL; each keeps its own verdicts."""
    values = [
        "/a?page=2",
        "/b?q=%27%20or%201=1",
        "/backup/site.sql",
        None,
        "",
        "/login?jsessionid=74B0CB41",
        "/c/../etc/passwd",
        "/x?q=%1G",
    ] * repeat
    column = pl.Series("url.original", values, dtype=pl.String)
    patterns = (prefilter.URL_PATTERN, COLUMN_SYMPTOMS[0][2], r"(?i)\.sql$")
    together = [flags.to_list() for flags in HyperscanColumnScanner(*patterns).each(column)]
    alone = [PolarsColumnScanner(pattern).flags(column).to_list() for pattern in patterns]
    assert together == alone
    assert together[2][:8] == [False, False, True, False, False, False, False, False]
    assert together[0] != together[1]  # the policy's symptom is not the prefilter's


def test_prefilter_returns_other_stages_flags_from_its_own_scan() -> None:
    frame = make_batch(
        Dataset.HTTP,
        [{"url.original": u} for u in ("/", "/backup/db.sql", "/s?q=%27", "/p?PHPSESSID=1")],
    ).to_polars()
    flags = prefilter.column_flags(frame, paranoia=2, also=COLUMN_SYMPTOMS)
    assert flags["_policy:url"].to_list() == [False, True, False, True]
    assert flags[prefilter.ANY].to_list() == prefilter.column_flags(frame, paranoia=2)[prefilter.ANY].to_list()
    assert set(flags.columns) == {*prefilter.COLUMN_PATTERNS, prefilter.ANY, *(name for name, _, _ in COLUMN_SYMPTOMS)}


def test_cache_pruning_keeps_the_most_recently_used_databases(tmp_path: Path) -> None:
    for age, name in enumerate(["newest", "recent", "old", "oldest"]):
        path = tmp_path / f"{name}.hsdb"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_700_000_000 - age * 60, 1_700_000_000 - age * 60))
    (tmp_path / "other.123.tmp").write_bytes(b"x" * 1000)  # another process's database being written
    prune_cache(tmp_path, max_bytes=250)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newest.hsdb", "other.123.tmp", "recent.hsdb"]


def test_a_database_loaded_from_the_cache_counts_as_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    compile_database(["a+b"], [0])
    (cached,) = (tmp_path / "watchhouse" / "hyperscan").glob("*.hsdb")
    os.utime(cached, (1_700_000_000, 1_700_000_000))
    database = compile_database(["a+b"], [0])
    assert cached.stat().st_mtime > 1_700_000_000
    found: list[int] = []
    database.scan(b"xaab", match_event_handler=lambda i, *_: found.append(i))
    assert found == [0]


# -- the column scanner's memory of values seen in earlier batches


def _scanned_values(scanner: HyperscanColumnScanner, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records the values each Hyperscan scan of ``scanner`` reads."""
    scans: list[list[str]] = []
    scan = HyperscanColumnScanner._scan

    def recording(self: HyperscanColumnScanner, column: pl.Series) -> Any:
        if self is scanner:
            scans.append(column.to_list())
        return scan(self, column)

    monkeypatch.setattr(HyperscanColumnScanner, "_scan", recording)
    return scans


def test_values_seen_in_an_earlier_batch_are_not_scanned_again(monkeypatch: pytest.MonkeyPatch) -> None:
    patterns = (prefilter.URL_PATTERN, COLUMN_SYMPTOMS[0][2])
    scanner = HyperscanColumnScanner(*patterns)
    scans = _scanned_values(scanner, monkeypatch)
    first = pl.Series("url.original", ["/a?page=2", "/b?q=%27%20or%201=1", None, "/login?jsessionid=7"])
    second = pl.Series("url.original", ["/login?jsessionid=7", "/new?q=<script>", "/a?page=2", "/a?page=2"])
    for batch in (first, second, second):
        together = [flags.to_list() for flags in scanner.each(batch)]
        assert together == [PolarsColumnScanner(p).flags(batch).to_list() for p in patterns]
    # the first batch's values once, then only the value the second batch brought; the third, nothing
    assert scans == [["/a?page=2", "/b?q=%27%20or%201=1", "/login?jsessionid=7"], ["/new?q=<script>"]]


def test_the_memory_is_bounded_in_values_and_in_their_length(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("watchhouse.detectors.web.engines.COLUMN_MEMORY_VALUES", 3)
    monkeypatch.setattr("watchhouse.detectors.web.engines.COLUMN_MEMORY_VALUE_CHARS", 20)
    scanner = HyperscanColumnScanner(prefilter.URL_PATTERN)
    scans = _scanned_values(scanner, monkeypatch)
    long = "/" + "x" * 30 + "?q=%27"
    scanner.each(pl.Series("u", ["/1", "/2", long]))
    scanner.each(pl.Series("u", ["/3", "/4"]))
    assert scanner._known["v"].to_list() == ["/2", "/3", "/4"]  # the newest three short values
    flags = scanner.flags(pl.Series("u", ["/1", "/4", long]))
    assert flags.to_list() == [False, False, True]
    assert scans[-1] == ["/1", long]  # forgotten, and never remembered


_URLS = [
    "/a?page=2",
    "/b?q=%27%20or%201=1",
    "/backup/site.sql",
    "",
    "/login?jsessionid=74B0CB41",
    "/c/../etc/passwd",
    "/x?q=%1G",
    "/s?q=<script>alert(1)</script>",
    "/\U0010ffff?q=%27",  # holds the row separator: scanned with it replaced
    "/p?PHPSESSID=1",
]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.sampled_from(_URLS)), max_size=12), min_size=1, max_size=5))
def test_a_remembered_verdict_is_the_verdict_a_fresh_scan_gives(batches: list[list[str | None]]) -> None:
    patterns = (prefilter.URL_PATTERN, COLUMN_SYMPTOMS[0][2])
    remembering = HyperscanColumnScanner(*patterns)
    for values in batches:
        column = pl.Series("url.original", values, dtype=pl.String)
        expected = [PolarsColumnScanner(p).flags(column).to_list() for p in patterns]
        assert [flags.to_list() for flags in remembering.each(column)] == expected


def test_the_memory_holds_copies_not_the_batches_text() -> None:
    """A value filtered out of a batch's column still points into that column's buffers; the memory
    keeps copies, so the batches it saw can be freed (a few short values must not pin megabytes)."""
    scanner = HyperscanColumnScanner(prefilter.URL_PATTERN)
    long_values = [f"/page/{i}?{'x' * 1_000}" for i in range(2_000)]  # past the length remembered
    batch = pl.Series("u", ["/a", "/b?q=%27", *long_values])
    scanner.each(batch)
    assert scanner._known["v"].to_list() == ["/a", "/b?q=%27"]
    held = scanner._known["v"].to_arrow(compat_level=pl.CompatLevel.newest())
    assert sum(buffer.size for buffer in held.buffers() if buffer is not None) < 64_000  # not the ~2 MB batch


def test_a_value_remembered_twice_is_judged_right_and_remembered_once() -> None:
    """Two threads may judge one new value at once and both remember it; the next batch that
    holds it finds two entries and keeps one."""
    scanner = HyperscanColumnScanner(prefilter.URL_PATTERN)
    batch = pl.Series("u", ["/a", "/b?q=%27"])
    scanner.each(batch)
    scanner._known = pl.concat([scanner._known, scanner._known])  # as two threads would leave it
    assert scanner.flags(batch).to_list() == [False, True]
    assert sorted(scanner._known["v"].to_list()) == ["/a", "/b?q=%27"]
    assert scanner.flags(batch).to_list() == [False, True]
