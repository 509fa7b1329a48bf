"""web.campaigns: one alert per attacking source and window, conformance, counts and caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.detectors.web.campaigns import WebCampaignDetector
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector
from watchhouse.testing.factories import make_batch

T0 = datetime(2026, 3, 2, 2, 10, tzinfo=UTC)
_PAYLOADS = ("?id=1%27+union+select+null--", "?f=../../../etc/passwd", "?q=%3Cscript%3Ealert(1)%3C/script%3E")


def _scan(ip: str, n: int, start: datetime = T0, step: timedelta = timedelta(seconds=1)) -> list[dict[str, object]]:
    return [
        {
            "@timestamp": start + i * step,
            "source.ip": ip,
            "http.request.method": "GET",
            "url.original": f"/app{i}.php{_PAYLOADS[i % 3]}",
        }
        for i in range(n)
    ]


def _quiet(n: int) -> list[dict[str, object]]:
    return [
        {"@timestamp": T0 + timedelta(seconds=i), "source.ip": "198.51.100.4", "url.original": f"/page/{i}"}
        for i in range(n)
    ]


def _batch(rows: list[dict[str, object]]) -> EventBatch:
    return make_batch(Dataset.HTTP, rows)


class TestCampaignConformance(DetectorConformance):
    detector_class = WebCampaignDetector

    def positive_cases(self) -> list[SampleCase]:
        two_windows = _scan("203.0.113.7", 6) + _scan("203.0.113.7", 4, T0 + timedelta(hours=2))
        mixed = _quiet(10) + _scan("203.0.113.8", 9) + _scan("192.0.2.77", 5)
        return [SampleCase.of("two-windows", _batch(two_windows)), SampleCase.of("mixed", _batch(mixed))]

    def negative_cases(self) -> list[SampleCase]:
        return [SampleCase.of("ordinary-pages", _batch(_quiet(20)))]


def test_scanner_hitting_many_urls_is_one_alert_with_counts() -> None:
    rows = _scan("203.0.113.7", 600) + _quiet(50)
    (alert,) = run_detector(WebCampaignDetector(max_evidence=5), [_batch(rows)])
    assert alert.details["requests"] == 600
    assert alert.details["distinct_paths"] == 600
    assert set(alert.details["classes"]) == {"sqli", "path_traversal", "xss"}
    assert len(alert.evidence) == 5 and alert.details["evidence_total"] == 600
    assert alert.first_seen == T0 and alert.last_seen == T0 + timedelta(seconds=599)
    assert "600 flagged request(s)" in alert.explanation


def test_windows_close_on_later_findings_and_path_counts_are_capped() -> None:
    detector = WebCampaignDetector(window=timedelta(minutes=10), grace=timedelta(0), max_paths=3)
    first = detector.detect(_batch(_scan("203.0.113.7", 5)))
    assert first == []
    later = detector.detect(_batch(_scan("192.0.2.1", 1, T0 + timedelta(minutes=30))))
    (closed,) = later
    assert closed.subject.value == "203.0.113.7"
    assert closed.details["distinct_paths"] == 3 and closed.details["distinct_paths_is_floor"]
    (rest,) = detector.finalize()
    assert rest.subject.value == "192.0.2.1"


def test_inner_detector_settings_decide_what_counts() -> None:
    rows = _scan("203.0.113.7", 3)
    strict = WebCampaignDetector(inner=WebAttackDetector(anomaly_threshold=100))
    assert run_detector(strict, [_batch(rows)]) == []
    assert run_detector(WebCampaignDetector(min_requests=4), [_batch(rows)]) == []
