"""web.campaigns: one alert per attacking source, and per path attacked from many sources, and window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from watchhouse.core.errors import UsageError
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding
from watchhouse.detect.registry import DetectorRegistry
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


def _botnet(sources: int, each: int, path: str = "/wp-login.php", start: datetime = T0) -> list[dict[str, object]]:
    """``sources`` addresses sending ``each`` payloads at one path, interleaved (as a botnet does)."""
    return [
        {
            "@timestamp": start + timedelta(seconds=k * sources + i),
            "source.ip": f"198.18.{i // 250}.{i % 250 + 1}",
            "http.request.method": "GET",
            "url.original": f"{path}{_PAYLOADS[(i + k) % 3]}",
        }
        for k in range(each)
        for i in range(sources)
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
        botnet = _quiet(5) + _botnet(4, 3) + _botnet(3, 2, "/xmlrpc.php", T0 + timedelta(hours=3))
        return [
            SampleCase.of("two-windows", _batch(two_windows)),
            SampleCase.of("mixed", _batch(mixed)),
            SampleCase.of("botnet-on-two-paths", _batch(botnet)),
        ]

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
    detector = WebCampaignDetector(window_seconds=600, grace_seconds=0, max_paths=3)
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


def test_a_path_attacked_from_many_sources_is_one_alert_counting_them() -> None:
    rows = _botnet(40, 3) + _scan("203.0.113.7", 30) + _quiet(20)
    found = run_detector(WebCampaignDetector(max_evidence=5), [_batch(rows)])
    by_path = [f for f in found if f.subject.kind == "url.path"]
    by_source = [f for f in found if f.subject.kind == "source.ip"]
    (path,) = by_path  # the scanner's own paths were each hit from one source: no path alert
    assert path.subject.value == "/wp-login.php" and path.details["url.path"] == "/wp-login.php"
    assert path.details["requests"] == 120 and path.details["distinct_sources"] == 40
    assert not path.details["distinct_sources_is_floor"] and len(path.details["top_sources"]) == 10
    assert set(path.details["classes"]) == {"sqli", "path_traversal", "xss"}
    assert len(path.evidence) == 5 and path.details["evidence_total"] == 120
    assert "/wp-login.php was attacked by 40 distinct source(s) with 120 flagged request(s)" in path.explanation
    assert path.title.startswith("Web attack campaign against /wp-login.php: 120 request(s) from 40 source(s)")
    assert len(by_source) == 41  # each bot, and the scanner, still has its own window
    scanner = next(f for f in by_source if f.subject.value == "203.0.113.7")
    assert scanner.details["requests"] == 30 and scanner.details["distinct_paths"] == 30


def test_path_alerts_need_min_sources_and_can_be_turned_off() -> None:
    rows = _botnet(3, 2)

    def paths(min_sources: int = 3) -> list[Finding]:
        found = run_detector(WebCampaignDetector(min_sources=min_sources), [_batch(rows)])
        return [f for f in found if f.subject.kind == "url.path"]

    assert len(paths()) == 1  # three sources reach the default min_sources
    assert paths(min_sources=4) == []
    assert paths(min_sources=0) == []  # no per-path grouping at all
    assert len(paths(min_sources=1)) == 1


def test_source_counts_per_path_are_capped() -> None:
    (path,) = [
        f
        for f in run_detector(WebCampaignDetector(max_sources=5), [_batch(_botnet(12, 1))])
        if f.subject.kind == "url.path"
    ]
    assert path.details["distinct_sources"] == 5 and path.details["distinct_sources_is_floor"]
    assert "at least 5 distinct source(s)" in path.explanation and path.details["requests"] == 12


def test_open_windows_are_bounded_and_the_oldest_closes_first() -> None:
    """A flood of sources, each with its own window: no more than ``max_open`` stay open, and
    those closed early are the oldest (one-second windows: the bots' windows start one after the other)."""
    detector = WebCampaignDetector(max_open=10, min_sources=0, window_seconds=1, grace_seconds=3600)
    early = detector.detect(_batch(_botnet(25, 1)))
    assert [f.subject.value for f in early] == [f"198.18.0.{i}" for i in range(1, 16)]
    rest = detector.finalize()
    assert [f.subject.value for f in rest] == [f"198.18.0.{i}" for i in range(16, 26)]


def test_settings_come_from_a_configuration_file() -> None:
    """What ``[detectors."web.campaigns"]`` in a scan's TOML file can say: plain numbers."""
    registry = DetectorRegistry.default(include_plugins=False)
    options = {"window_seconds": 600, "grace_seconds": 0, "paranoia_level": 1, "anomaly_threshold": 5, "min_sources": 2}
    (made,) = registry.create(["web.campaigns"], {"web.campaigns": options})
    assert isinstance(made, WebCampaignDetector)
    assert made.window == timedelta(minutes=10) and made.grace == timedelta(0) and made.min_sources == 2
    assert (made.inner.paranoia_level, made.inner.anomaly_threshold) == (1, 5)
    with pytest.raises(UsageError, match="window_seconds must be positive"):
        registry.create(["web.campaigns"], {"web.campaigns": {"window_seconds": 0}})
    with pytest.raises(ValueError, match="inner detector"):
        WebCampaignDetector(inner=WebAttackDetector(), paranoia_level=1)


def test_a_checkpoint_of_the_first_version_still_restores() -> None:
    """Version 1 checkpoints held source windows only (``open``); they restore, with no path windows."""
    first = WebCampaignDetector(min_sources=0)
    first.detect(_batch(_scan("203.0.113.7", 4)))
    state = first.checkpoint()
    old = {"clock": state["clock"], "open": state["open"]}  # what version 1 wrote
    assert set(old["open"][0]) >= {"source", "paths", "paths_overflow"}
    restored = WebCampaignDetector()
    restored.restore(old)
    (alert,) = restored.finalize()
    assert alert.subject.value == "203.0.113.7" and alert.details["requests"] == 4


def test_a_scan_running_both_matches_each_batch_once_and_each_reports_what_it_reports_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = DetectorRegistry.default(include_plugins=False)
    campaigns, per_request = registry.create(["web.campaigns", "web.attack_patterns"])  # in either order
    assert isinstance(campaigns, WebCampaignDetector) and isinstance(per_request, WebAttackDetector)
    assert campaigns.inner is per_request
    matched: list[int] = []
    detect = WebAttackDetector._detect

    def counted(self: WebAttackDetector, batch: EventBatch) -> Sequence[Finding]:
        matched.append(batch.num_rows)
        return detect(self, batch)

    monkeypatch.setattr(WebAttackDetector, "_detect", counted)
    rows = _botnet(4, 3) + _scan("203.0.113.7", 30, T0 + timedelta(hours=2)) + _quiet(10)
    batches = [_batch(rows[:25]), _batch(rows[25:])]
    requests: list[Finding] = []
    grouped: list[Finding] = []
    for batch in batches:  # as the engine runs them: every detector on a batch, then the next batch
        requests += per_request.detect(batch)
        grouped += campaigns.detect(batch)
    grouped += campaigns.finalize()
    assert matched == [25, len(rows) - 25]  # one matching pass per batch for both detectors
    monkeypatch.setattr(WebAttackDetector, "_detect", detect)
    alone = WebAttackDetector()
    assert requests == [f for batch in batches for f in alone.detect(batch)] and len(requests) == 42
    own = WebCampaignDetector()
    expected = [f for batch in batches for f in own.detect(batch)] + own.finalize()
    assert grouped == expected and [f.details for f in grouped] == [f.details for f in expected]
    assert {f.subject.kind for f in grouped} == {"source.ip", "url.path"}


@pytest.mark.parametrize(
    ("options", "shared"),
    [
        ({}, True),
        ({"web.campaigns": {"paranoia_level": 3}, "web.attack_patterns": {"paranoia_level": 3}}, True),
        ({"web.campaigns": {"window_seconds": 60}}, True),  # its own options do not matter
        ({"web.campaigns": {"paranoia_level": 3}}, False),  # it would match at another level
        ({"web.attack_patterns": {"anomaly_threshold": 5}}, False),
        ({"web.attack_patterns": {"min_severity": "high"}}, False),  # would report otherwise than its own
    ],
)
def test_the_per_request_detector_is_shared_only_where_it_reports_what_the_inner_one_would(
    options: dict[str, dict[str, object]], shared: bool
) -> None:
    registry = DetectorRegistry.default(include_plugins=False)
    per_request, campaigns = registry.create(["web.attack_patterns", "web.campaigns"], options)
    assert isinstance(campaigns, WebCampaignDetector)
    assert (campaigns.inner is per_request) is shared
    wanted = options.get("web.campaigns", {})
    assert campaigns.inner.paranoia_level == wanted.get("paranoia_level", 2)
    (alone,) = registry.create(["web.campaigns"], options)
    assert isinstance(alone, WebCampaignDetector) and alone.inner is not per_request


def test_the_same_batch_asked_again_gets_the_same_findings_in_a_list_of_its_own() -> None:
    detector = WebAttackDetector()
    batch = _batch(_scan("203.0.113.7", 6))
    first = detector.detect(batch)
    first.clear()  # a caller changing its list changes nobody else's
    again = detector.detect(batch)
    assert len(again) == 6 and again is not detector.detect(batch)
    other = _batch(_scan("203.0.113.7", 6))  # equal rows, another batch: matched again, same findings
    assert detector.detect(other) == again
