"""The prefilter is a necessary condition of every rule, and a row's candidacy is its own business.

The detector only decodes values whose raw text shows a prefilter symptom (:mod:`.prefilter`), so
a rule that can fire on a value without a symptom silently loses that value whenever the
prefilter runs, and earlier still fired only when a neighbouring row happened to be flagged. The
property is checked where rules really fire: every rule hit on the annotated positive samples
and, where ``../shared/corpora`` is present, on the OWASP CRS regression requests, with the
prefilter switched off, must come from a value that shows its part's symptom; and whole
requests must get the same findings with and without the prefilter at every paranoia level.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.core.events import Dataset
from watchhouse.detectors.web import prefilter
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.engines import (
    ROW_SEPARATOR,
    EngineName,
    column_scanner,
    hyperscan_available,
    isolate_rows,
)
from watchhouse.detectors.web.evaluation import load_crs
from watchhouse.detectors.web.matching import Hit, Matcher, Part, request_parts
from watchhouse.detectors.web.rules import Target, default_rules
from watchhouse.detectors.web.token_checks import TokenChecks
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import make_batch

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "web.attack_patterns"
CRS = Path(__file__).resolve().parents[4] / "shared" / "corpora" / "crs-tests"
_PART_COLUMNS = (prefilter.URL, prefilter.BODY, prefilter.REFERRER, prefilter.AGENT, prefilter.HEADERS)

ENGINES = [
    EngineName.POLARS,
    pytest.param(EngineName.HYPERSCAN, marks=pytest.mark.skipif(not hyperscan_available(), reason="no hyperscan")),
]


def _sample_rows() -> list[dict[str, Any]]:
    """The full-request positive samples, and the annotated log lines' URLs and agents."""
    rows: list[dict[str, Any]] = []
    for text in (SAMPLES / "requests.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(text)
        if record["kind"] == "positive":
            rows.append(record["row"])
    for text in (SAMPLES / "positive.log").read_text(encoding="utf-8").splitlines():
        if text and not text.startswith("#"):
            request = text.split('"')[1].split(" ")
            rows.append({"url.original": request[1], "user_agent.original": text.rsplit('"', 2)[-2]})
    return rows


def _crs_rows() -> list[dict[str, Any]]:
    if not CRS.is_dir():
        pytest.skip(f"{CRS} is absent (no ../shared checkout)")
    return [case.row for case in load_crs(CRS)]


def _hits(rows: list[dict[str, Any]], level: int) -> list[Hit]:
    """Every rule and tokenizer hit on the rows' parts with the symptom gate switched off."""
    matcher = Matcher(default_rules().at_paranoia(level), None, checks=TokenChecks(level))
    parts: list[Part] = []
    for row in rows:
        parts.extend(request_parts(*(row.get(column) for column in _PART_COLUMNS)))
    return [hit for _, hit in matcher.match(parts)]


def _unflagged(hits: list[Hit], level: int, engine: EngineName) -> list[tuple[str, str, str]]:
    """``(rule, target, raw value)`` of each hit whose raw value shows no symptom of its part."""
    symptoms = prefilter.part_symptoms(level)
    missing: list[tuple[str, str, str]] = []
    for target in Target:
        mine = [hit for hit in hits if hit.part.target is target]
        if not mine:
            continue
        values = pl.Series("v", [hit.part.raw for hit in mine], dtype=pl.String)
        flagged = column_scanner(symptoms[target], engine).flags(values).to_list()
        missing.extend(
            (h.rule.id, target.value, h.part.raw[:80]) for h, ok in zip(mine, flagged, strict=True) if not ok
        )
    return missing


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("level", [2, 4])
def test_every_hit_on_the_positive_samples_shows_its_symptom(level: int, engine: EngineName) -> None:
    hits = _hits(_sample_rows(), level)
    assert len({hit.rule.id for hit in hits}) >= 100  # the samples exercise most of the pack
    assert _unflagged(hits, level, engine) == []


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("level", [2, 4])
def test_every_hit_on_the_crs_requests_shows_its_symptom(level: int, engine: EngineName) -> None:
    hits = _hits(_crs_rows(), level)
    assert len(hits) > 3000
    assert _unflagged(hits, level, engine) == []


@pytest.mark.parametrize("level", [2, 4])
def test_crs_requests_get_the_same_findings_without_the_prefilter(level: int) -> None:
    rows = _crs_rows()
    batches = [make_batch(Dataset.HTTP, rows[i : i + 2000], first_line=i + 1) for i in range(0, len(rows), 2000)]
    with_prefilter = run_detector(WebAttackDetector(paranoia_level=level), batches)
    without = run_detector(WebAttackDetector(paranoia_level=level, use_prefilter=False), batches)
    assert len(without) > 2500
    assert {(f.key, tuple(f.details["rules"])) for f in with_prefilter} == {
        (f.key, tuple(f.details["rules"])) for f in without
    }


# -- row isolation in the Hyperscan column scan


def test_isolate_rows_keeps_everything_but_the_separator_out_of_reach() -> None:
    assert isolate_rows(r"(?:^|=)ls(?:&|$)") == r"(?:(?:\A|\x{10ffff})|=)ls(?:&|(?:\z|\x{10ffff}))"
    assert isolate_rows(r"%26[^&\s]{0,60}@") == r"%26[^\x{10ffff}&\s]{0,60}@"
    # a trailing "-" stays literal and a leading "]" stays a member
    assert isolate_rows(r"[^a\\-][^]x]") == r"[^\x{10ffff}a\\-][^\x{10ffff}\]x]"
    assert isolate_rows(r"a.b\Sc[]^]\$") == r"a[^\x{10ffff}]b[^\s\x{10ffff}]c[]^]\$"
    with pytest.raises(ValueError, match="not supported"):
        isolate_rows(r"[\W_]")


@pytest.mark.skipif(not hyperscan_available(), reason="no hyperscan")
def test_a_value_ending_in_a_breakout_does_not_flag_the_next_row() -> None:
    # the old newline separator let ";" + "\n" + "s..." match ";\s*[a-z]" and flag both rows
    scanner = column_scanner(prefilter.column_patterns(2)[prefilter.URL], EngineName.HYPERSCAN)
    values = ["/cart;", "static/app.js", "/search?q=1", "cat", "/a?x=1&cmd=", "id"]
    assert scanner.flags(pl.Series("v", values)).to_list() == [False] * len(values)
    anchored = column_scanner(prefilter.column_patterns(4)[prefilter.URL], EngineName.HYPERSCAN)
    assert anchored.flags(pl.Series("v", ["/x", "cat /etc/hosts", "/y"])).to_list() == [False, True, False]


@pytest.mark.skipif(not hyperscan_available(), reason="no hyperscan")
def test_a_value_holding_the_separator_itself_is_judged_alone() -> None:
    scanner = column_scanner(prefilter.column_patterns(2)[prefilter.URL], EngineName.HYPERSCAN)
    values = ["/a;", f"/x{ROW_SEPARATOR};ls", "b", "/q?x='", None, "", f"{ROW_SEPARATOR}cat"]
    expected = column_scanner(prefilter.column_patterns(2)[prefilter.URL], EngineName.POLARS).flags(
        pl.Series("v", values)
    )
    assert (
        scanner.flags(pl.Series("v", values)).to_list()
        == expected.to_list()
        == [
            False,
            True,
            False,
            True,
            False,
            False,
            False,
        ]
    )


_ALPHABET = st.sampled_from(["a", "s", "l", "cat", "id", ";", "&", "=", " ", "\n", "\r", "$", "%20", "+", "or", "1"])
_VALUES = st.lists(st.lists(_ALPHABET, max_size=6).map("".join), min_size=1, max_size=8)


@pytest.mark.skipif(not hyperscan_available(), reason="no hyperscan")
@settings(max_examples=150, deadline=None)
@given(values=_VALUES)
def test_hyperscan_column_flags_equal_per_value_polars_flags(values: list[str]) -> None:
    """Polars matches each value alone; the joined Hyperscan scan must say exactly the same."""
    series = pl.Series("v", values, dtype=pl.String)
    for level in (2, 4):
        for column in (prefilter.URL, prefilter.AGENT, prefilter.HEADERS):
            pattern = prefilter.column_patterns(level)[column]
            expected = column_scanner(pattern, EngineName.POLARS).flags(series).to_list()
            assert column_scanner(pattern, EngineName.HYPERSCAN).flags(series).to_list() == expected, (column, level)


# -- symptoms of decoded header values, and the parts the matcher inspects


def test_header_symptom_sees_real_line_breaks_in_decoded_header_values() -> None:
    header = prefilter.part_symptoms(2)[Target.HEADERS]
    values = pl.Series("v", ["en-GB\r\nSet-Cookie: admin=1", "text/html", "gzip, deflate"])
    assert values.str.contains(header).to_list() == [True, False, False]
    row = {
        "source.ip": "203.0.113.9",
        "http.request.method": "GET",
        "url.original": "/",
        "http.request.headers": json.dumps({"Host": "shop.example", "Accept-Language": "en\r\nSet-Cookie: a=1"}),
    }
    findings = WebAttackDetector().detect(make_batch(Dataset.HTTP, [row]))
    assert findings and "WH-PROTO-001" in findings[0].details["rules"]


def test_a_non_form_body_reads_plus_as_space_and_json_keeps_its_plus() -> None:
    plain = request_parts(None, "' or 1=1 union select+password+from+users", None, None, None)
    assert [(p.target, p.plus_as_space) for p in plain] == [(Target.BODY, True)]
    json_body = request_parts(None, '{"phone": "+44 20 7946 0000"}', None, None, None)
    assert json_body[0].plus_as_space is False
    assert [p.raw for p in json_body[1:]] == ["+44 20 7946 0000"]


@pytest.mark.parametrize(
    ("name", "inspected"),
    [
        ("q", False),
        ("per_page", False),
        ("user%20id", True),
        ("a%0d%0aSet-Cookie", True),
        ("x%3d1", True),
        ("username__startswith", True),
        ("password__regex", True),
        ("title__icontains", True),
        ("created__gte", False),
    ],
)
def test_parameter_names_hiding_payloads_or_lookups_are_inspected(name: str, inspected: bool) -> None:
    parts = request_parts(f"/api/users?{name}=a", None, None, None, None)
    assert any(p.is_name and p.raw == name for p in parts) is inspected


def test_the_request_policy_sees_the_http_version() -> None:
    """Policy checks get ``http.version`` (HTTP/1.0 may omit Host); rows without it carry None."""
    seen: list[dict[str, Any]] = []
    detector = WebAttackDetector()
    assert detector._policy is not None
    original = detector._policy.hits

    def spy(row: dict[str, Any]) -> list[Hit]:
        seen.append(row)
        return original(row)

    detector._policy.hits = spy  # type: ignore[method-assign]
    rows = [
        {"source.ip": "203.0.113.9", "http.request.method": "PROPFIND", "url.original": "/", "http.version": "1.0"},
        {"source.ip": "203.0.113.9", "http.request.method": "PROPFIND", "url.original": "/"},
    ]
    detector.detect(make_batch(Dataset.HTTP, rows))
    assert [row["http.version"] for row in seen] == ["1.0", None]
