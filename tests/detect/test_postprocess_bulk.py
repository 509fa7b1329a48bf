"""The post-processor makes ids and alerts in bulk; it must decide exactly as the one-finding-at-a-time
policy it replaced: the same alerts in the same order, the same ids, the same counts, the same memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

from tests.detectors.web.test_attack_patterns import ALL_POSITIVES, NEAR_MISSES

from watchhouse.core.alerts import Alert, alert_id, alert_ids
from watchhouse.core.events import EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detect.postprocess import PostProcessor, PostProcessStats
from watchhouse.detect.suppression import Suppression
from watchhouse.detectors.web.attack_patterns import WebAttackDetector

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
VERSIONS = {"web.attack_patterns": "2", "accounts.failed_login_burst": "3"}


class _OneAtATime:
    """The policy as it read before it worked in bulk: one alert per finding, then the checks."""

    def __init__(self, suppressions: Sequence[Suppression], min_severity: Severity) -> None:
        self.suppressions = suppressions
        self.min_severity = min_severity
        self.seen: set[str] = set()
        self.stats = PostProcessStats()

    def process(self, findings: Sequence[Finding]) -> list[Alert]:
        alerts: list[Alert] = []
        for finding in findings:
            self.stats.findings += 1
            alert = Alert.from_finding(finding, VERSIONS.get(finding.detector, "?"))
            if alert.id in self.seen:
                self.stats.duplicates += 1
                continue
            self.seen.add(alert.id)
            if alert.severity < self.min_severity:
                self.stats.below_threshold += 1
                continue
            rule = next((s for s in self.suppressions if s.matches(alert)), None)
            if rule is not None:
                self.stats.suppressed[rule.reason] += 1
                continue
            alerts.append(alert)
        return alerts


def _burst(ip: str, minute: int, severity: Severity) -> Finding:
    """An account finding as the burst detector words it: another detector, another key shape."""
    start = T0 + timedelta(minutes=minute)
    return Finding(
        detector="accounts.failed_login_burst",
        key=f"source.ip={ip}|{start.isoformat()}",
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        stage=Stage.ATTEMPTED,
        severity=severity,
        confidence=0.8,
        title=f"Failed-login burst from {ip}",
        explanation=f"40 failed logins from {ip} within 60 s",
        subject=Subject("source.ip", ip),
        first_seen=start,
        last_seen=start + timedelta(seconds=59),
        evidence=tuple(EventRef("auth.log", line) for line in range(100 + minute, 140 + minute)),
        details={"failures": 40},
    )


def _web_findings() -> list[Finding]:
    """What the web detector reports on the annotated samples: many rules, severities, addresses."""
    batch = EventBatch.concat([s.batch for s in ALL_POSITIVES + NEAR_MISSES])
    return WebAttackDetector(paranoia_level=4).detect(batch)


def _batches() -> list[list[Finding]]:
    """Three batches mixing two detectors in runs, with repeats inside a batch and across batches,
    findings below the threshold and an unversioned detector."""
    web = _web_findings()
    assert len({f.severity for f in web}) >= 3 and len({f.subject.value for f in web}) >= 3
    bursts = [_burst(f"198.51.100.{i % 4}", i, Severity.LOW if i % 3 == 0 else Severity.HIGH) for i in range(9)]
    stranger = replace(bursts[1], detector="fraud.unversioned")
    half = len(web) // 2
    return [
        [*web[:half], *bursts[:5], web[0], *web[half:], bursts[0]],
        [*bursts[3:], stranger, *web[::3], stranger],
        [web[-1], bursts[8], *web[:4]],
    ]


def test_bulk_processing_decides_as_one_finding_at_a_time() -> None:
    suppressions = [
        Suppression(reason="pen test", expires=T0 + timedelta(days=1), subject="source.ip=198.51.100.0/31"),
        Suppression(reason="burst noise", expires=T0 + timedelta(days=1), detector="accounts.failed_login_burst"),
    ]
    batches = _batches()
    for rules in ([], suppressions):
        for min_severity in (Severity.INFO, Severity.MEDIUM):
            post = PostProcessor(VERSIONS, suppressions=rules, min_severity=min_severity)
            reference = _OneAtATime(rules, min_severity)
            for number, batch in enumerate(batches):
                expected = reference.process(batch)
                got = post.process(iter(batch) if number == 1 else batch)  # any iterable will do
                assert [a.id for a in got] == [a.id for a in expected]
                assert got == expected and [a.details for a in got] == [a.details for a in expected]
                assert [a.detector_version for a in got] == [a.detector_version for a in expected]
                assert post.stats == reference.stats
            assert post.stats.duplicates > 0 and post.stats.findings == sum(map(len, batches))
            if min_severity is Severity.MEDIUM:
                assert post.stats.below_threshold > 0
            if rules:
                assert set(post.stats.suppressed) == {"pen test", "burst noise"}


def test_a_finding_held_back_is_still_remembered() -> None:
    """A finding below the threshold marks its id as seen: reported again with a higher severity (a
    detector re-scoring the same key), it counts as a duplicate, as before."""
    low = _burst("203.0.113.7", 0, Severity.LOW)
    post = PostProcessor(VERSIONS, min_severity=Severity.MEDIUM)
    assert post.process([low]) == []
    assert post.process([replace(low, severity=Severity.CRITICAL)]) == []
    assert (post.stats.below_threshold, post.stats.duplicates) == (1, 1)


def test_alert_ids_in_bulk_are_the_ids_one_by_one() -> None:
    batch = [f for findings in _batches() for f in findings]
    assert len({f.detector for f in batch}) == 3
    assert alert_ids(batch) == [alert_id(f.detector, f.key) for f in batch]
    assert alert_ids([]) == []
    pinned = replace(_web_findings()[0], key="logs/access.log:12:3456")
    assert alert_ids([pinned]) == ["wh-1cb5398891b4b25cc1ee8999"]  # as tests/core/test_alerts_identity.py pins


def test_alerts_in_bulk_are_the_alerts_one_by_one() -> None:
    batch = [f for findings in _batches() for f in findings]
    made = Alert.many(batch, alert_ids(batch), VERSIONS)
    one_by_one = [Alert.from_finding(f, VERSIONS.get(f.detector, "?")) for f in batch]
    assert made == one_by_one and [a.detector_version for a in made] == [a.detector_version for a in one_by_one]
    assert {a.detector_version for a in made} == {"2", "3", "?"}
    names = [f.name for f in fields(Alert)]
    assert all(list(vars(a)) == names and vars(a) is not vars(f) for a, f in zip(made, batch, strict=True))
    again = Alert.many(made, [a.id for a in made], {"web.attack_patterns": "9"})  # alerts in, only their finding fields
    assert all(list(vars(a)) == names for a in again)
    assert {a.detector_version for a in again} == {"9", "?"}
