"""One joined scan per view picks the values worth scanning alone: the ends reported must not change.

:meth:`PatternSet.matching_many` must give, value for value, what :meth:`PatternSet.matching` gives
(the same patterns and the same first ends, which decide the evidence shown), whichever way a
batch is scanned, for every view's rules at every paranoia level.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote_plus

import polars as pl
import pytest

from watchhouse.detectors.web import prefilter
from watchhouse.detectors.web.decoding import base64_view, decode, shell_view, sql_view
from watchhouse.detectors.web.engines import (
    JOINED_SCAN_VALUES,
    VALUE_SEPARATOR,
    EngineName,
    PatternSet,
    hyperscan_available,
    isolate_values,
)
from watchhouse.detectors.web.matching import Matcher, Part, request_parts
from watchhouse.detectors.web.rules import PARANOIA_LEVELS, Rule, View, default_rules

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="the hyperscan wheel is not installed here")

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "web.attack_patterns"


def _sample_values() -> list[str]:
    """Raw values of the sample logs' requests, plus edge cases of the joined scan."""
    values: list[str] = []
    for name in ("positive.log", "near_miss.log"):
        for line in (SAMPLES / name).read_text().splitlines():
            if line and not line.startswith("#"):
                target = line.split('"')[1].split(" ")[1]
                values += [part.raw for part in request_parts(target, None, None, line.split('"')[-2], None)]
    edges = [
        "1 or 1=1\n",  # "$" also matches before a final newline
        "' or 1=1--\n\n",
        "\n",
        "ls -la\n",
        "\u00e9\u00e9' union select 1",  # non-ASCII characters are one byte each
        "\U0010ffff;id",
        "",
        "x" * 600 + "<script>alert(1)</script>",
    ]
    return values + edges + values[:50]  # repeated values are scanned once


def _views(raw: str) -> dict[View, str]:
    base = decode(raw, plus_as_space=True)
    return {
        View.BASE: base.text,
        View.SQL: sql_view(base).text,
        View.SHELL: shell_view(base).text,
        View.BASE64: base64_view(raw, plus_as_space=True).text,
    }


def _pattern_sets(level: int) -> dict[View, PatternSet]:
    rules = default_rules().at_paranoia(level)
    return {view: PatternSet([rule.pattern for rule in rules if rule.view is view]) for view in View}


def _assert_same_ends(values: list[str], level: int) -> int:
    decoded = [_views(raw) for raw in values]
    found = 0
    for view, patterns in _pattern_sets(level).items():
        texts = [views[view] for views in decoded]
        alone = [patterns.matching(text) for text in texts]
        for _ in range(2):  # the second batch may take the other way (value by value)
            assert patterns.matching_many(texts) == alone, (level, view)
        found += sum(map(len, alone))
    return found


@pytest.mark.parametrize("level", PARANOIA_LEVELS)
def test_joined_scan_reports_what_each_value_alone_reports(level: int) -> None:
    assert _assert_same_ends(_sample_values(), level) > 50  # the positive samples match plenty


@pytest.mark.corpus
def test_joined_scan_reports_what_each_value_alone_reports_on_http_params(corpora: Path) -> None:
    frame = pl.read_csv(corpora / "web" / "httpparamsdataset" / "payload_full.csv")
    values = [quote_plus(payload) for payload in frame["payload"].to_list()]
    assert _assert_same_ends(values, 2) > 20_000


def test_value_edges_are_found_where_the_value_ends() -> None:
    """``^`` and ``$`` hold at each value's own edges, and nothing spans two values."""
    patterns = PatternSet([r"^id$", r"a\s?b", r"x.y", r"[^a]z"])
    values = ["id", "id\n", "x", "a", "b", "y", "id2", "\u00e9z", "2id"]
    assert patterns.matching_many(values) == [patterns.matching(value) for value in values]
    assert patterns.matching_many(values)[:3] == [[(0, 2)], [(0, 2)], []]
    assert patterns.matching_many(["", "", "id"]) == [[], [], [(0, 2)]]
    assert patterns.matching_many([]) == []


def test_isolate_values_keeps_the_separator_out_of_reach() -> None:
    assert VALUE_SEPARATOR == b"\xfe"
    assert isolate_values(r"^a.b$") == r"(?:\A|\xfe)a[^\xfe]b(?:\n?(?:\z|\xfe))"
    assert isolate_values(r"[^a-]\S\W\d[:;]") == r"[^\xfea-][^\s\xfe][^\w\xfe]\d[:;]"
    with pytest.raises(ValueError, match="not supported"):
        isolate_values(r"[[:alpha:]]")


def test_most_values_matching_switches_the_next_batch_to_value_by_value_scans() -> None:
    """The way a batch is scanned changes only its cost: both ways give the same ends."""
    patterns = PatternSet([r"union\s+select", r"<script"])
    matching = ["1 union select 2", "<script>", "a union  select b"] * 3
    clean = ["page=2", "q=shoes", "sort=price"] * 3
    first = patterns.matching_many(matching)
    assert patterns._mostly_matching
    assert patterns.matching_many(matching) == first == [patterns.matching(v) for v in matching]
    assert patterns.matching_many(clean) == [[]] * 9
    assert not patterns._mostly_matching


def test_a_batch_changes_its_way_between_chunks() -> None:
    """A batch whose first values mostly match and whose later ones do not is scanned both ways."""
    patterns = PatternSet([r"union\s+select", r"<script"])
    size = JOINED_SCAN_VALUES
    values = [f"{i} union select {i}" for i in range(size)]
    values += [f"<script>{i}" if i % 97 == 0 else f"page={i}" for i in range(2 * size)]  # a few attacks
    assert patterns.matching_many(values) == [patterns.matching(value) for value in values]
    assert not patterns._mostly_matching  # the last chunk was mostly clean


def test_matcher_hits_keep_their_evidence() -> None:
    """Through the matcher, hits and their spans are those of value-by-value scans."""
    rules = default_rules().at_paranoia(4)
    parts = _sample_parts()
    hits = Matcher(rules, prefilter.part_symptoms(4), EngineName.HYPERSCAN).match(parts)
    sets = _pattern_sets(4)
    members = {view: [rule for rule in rules if rule.view is view] for view in View}
    for index, hit in hits:
        assert isinstance(hit.rule, Rule)  # (no tokenizer checks in this matcher)
        view = hit.rule.view
        position = members[view].index(hit.rule)
        ends = dict(sets[view].matching(hit.decoded.text))
        assert (hit.start, hit.end) == sets[view].span(position, hit.decoded.text, ends[position])
        assert parts[index] == hit.part
    assert len(hits) > 50


def _sample_parts() -> list[Part]:
    parts: list[Part] = []
    for name in ("positive.log", "near_miss.log"):
        for line in (SAMPLES / name).read_text().splitlines():
            if line and not line.startswith("#"):
                parts.extend(request_parts(line.split('"')[1].split(" ")[1], None, None, line.split('"')[-2], None))
    return parts
