from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo
from watchhouse.core.errors import ConfigError, DetectorError
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detect.engine import DetectionEngine
from watchhouse.detect.postprocess import PostProcessor
from watchhouse.detect.suppression import Suppression, active_suppressions, load_suppressions
from watchhouse.testing.factories import make_batch

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def finding(ip: str = "203.0.113.7", key: str = "k1", severity: Severity = Severity.HIGH) -> Finding:
    return Finding(
        detector="web.attack_patterns",
        key=key,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        stage=Stage.ATTEMPTED,
        severity=severity,
        confidence=0.9,
        title="t",
        explanation="e",
        subject=Subject("source.ip", ip),
        first_seen=NOW,
        last_seen=NOW,
        evidence=(EventRef("a.log", 1),),
    )


def test_duplicates_within_a_run_are_dropped_and_counted() -> None:
    post = PostProcessor({"web.attack_patterns": "1"})
    first = post.process([finding(), finding()])
    again = post.process([finding()])
    assert len(first) == 1 and again == []
    assert post.stats.duplicates == 2 and post.stats.findings == 3
    assert first[0].detector_version == "1"


def test_severity_threshold_counts_what_it_holds_back() -> None:
    post = PostProcessor({}, min_severity=Severity.MEDIUM)
    kept = post.process([finding(key="a", severity=Severity.LOW), finding(key="b", severity=Severity.CRITICAL)])
    assert [a.key for a in kept] == ["b"]
    assert post.stats.below_threshold == 1


def test_suppression_by_cidr_and_detector() -> None:
    rule = Suppression(reason="pen test", expires=NOW + timedelta(days=1), subject="source.ip=203.0.113.0/24")
    other = Suppression(reason="other detector", expires=NOW + timedelta(days=1), detector="accounts.x")
    post = PostProcessor({}, suppressions=[rule, other])
    kept = post.process([finding(key="a"), finding(ip="198.51.100.1", key="b")])
    assert [a.subject.value for a in kept] == ["198.51.100.1"]
    assert post.stats.suppressed == {"pen test": 1}


def test_expired_suppressions_stop_applying() -> None:
    live = Suppression(reason="live", expires=NOW + timedelta(seconds=1))
    dead = Suppression(reason="dead", expires=NOW - timedelta(seconds=1))
    active, expired = active_suppressions([live, dead], NOW)
    assert active == [live] and expired == [dead]


def test_suppression_file_parsing(tmp_path: Path) -> None:
    good = tmp_path / "s.toml"
    good.write_text(
        '[[suppress]]\nreason = "Acme pen test SEC-1"\nexpires = 2026-12-31T00:00:00Z\n'
        'subject = "source.ip=203.0.113.7"\ncrime_code = "illegal_access"\n'
    )
    (rule,) = load_suppressions(good)
    assert rule.expires.year == 2026 and rule.crime_code is CrimeCode.ILLEGAL_ACCESS
    for body, message in [
        ('[[suppress]]\nreason = "x"\n', "expires"),
        ('[[suppress]]\nexpires = 2026-12-31\nreason = ""\n', "reason"),
        ('[[suppress]]\nreason = "x"\nexpires = 2026-12-31T00:00:00Z\nsubject = "1.2.3.4"\n', "kind=value"),
        ('[[suppress]]\nreason = "x"\nexpires = 2026-12-31T00:00:00Z\ncolour = "red"\n', "unknown keys"),
        ("[[suppress]\n", "s.toml"),
    ]:
        good.write_text(body)
        with pytest.raises(ConfigError, match=message):
            load_suppressions(good)


class Exploding(Detector):
    """Fails on purpose so the engine's error attribution can be seen."""

    info: ClassVar[DetectorInfo] = DetectorInfo(
        "fraud.exploding",
        "2",
        DetectorFamily.FRAUD,
        frozenset({Dataset.TRANSACTION}),
        Severity.LOW,
        CrimeCode.COMPUTER_FRAUD,
        "boom",
    )

    def detect(self, batch: EventBatch) -> list[Finding]:
        raise RuntimeError("kaput")


def test_engine_routes_by_dataset_and_names_failing_detector() -> None:
    engine = DetectionEngine([Exploding()], PostProcessor({}))
    assert engine.consumes(Dataset.TRANSACTION) and not engine.consumes(Dataset.HTTP)
    assert engine.process(make_batch(Dataset.HTTP, [{}])) == []
    with pytest.raises(DetectorError, match=r"fraud\.exploding failed in detect: RuntimeError: kaput"):
        engine.process(make_batch(Dataset.TRANSACTION, [{}]))
    with pytest.raises(DetectorError, match="enabled twice"):
        DetectionEngine([Exploding(), Exploding()], PostProcessor({}))


def test_engine_names_the_detector_whose_checkpoint_is_from_another_state_version() -> None:
    from watchhouse.detectors.accounts.slow_brute_force import SlowBruteForceDetector

    detector = SlowBruteForceDetector()
    engine = DetectionEngine([detector], PostProcessor({}))
    state = engine.checkpoint()
    engine.restore(state)  # its own checkpoint reads back
    old = {detector.info.name: {**state[detector.info.name], "version": 1}}
    with pytest.raises(DetectorError, match=r"accounts\.slow_brute_force cannot restore its checkpoint: .*version 1"):
        engine.restore(old)


def test_remembered_ids_are_bounded_and_recent_ones_still_dropped() -> None:
    post = PostProcessor({"web.attack_patterns": "1"}, remember=100)
    kept = post.process([finding(key=f"k{i}") for i in range(1_000)])
    assert len(kept) == 1_000
    assert 50 <= post.remembered_ids <= 100  # bounded, not a thousand
    # the latest fifty are remembered: reporting them again is dropped and counted
    again = post.process([finding(key=f"k{i}") for i in range(950, 1_000)])
    assert again == [] and post.stats.duplicates == 50
    # long forgotten: reported again (the office database still stores an id once)
    assert [a.key for a in post.process([finding(key="k0")])] == ["k0"]


def test_recent_ids_keep_at_least_half_their_capacity() -> None:
    from watchhouse.detect.postprocess import RecentIds

    recent = RecentIds(10)
    for i in range(37):
        recent.add(str(i))
        assert all(str(j) in recent for j in range(max(0, i - 4), i + 1))
        assert len(recent) <= 10
    with pytest.raises(ValueError, match="at least 2"):
        RecentIds(1)
