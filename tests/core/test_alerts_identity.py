"""Alert ids stay what they were (stored alerts and re-scans depend on them), and
``Alert.from_finding`` copies a finding into an alert of its own, whatever finding it is given."""

from __future__ import annotations

import hashlib
from dataclasses import fields
from datetime import UTC, datetime

from watchhouse.core.alerts import Alert, alert_id
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _finding(key: str = "logs/access.log:12:3456") -> Finding:
    return Finding(
        detector="web.attack_patterns",
        key=key,
        crime_code=CrimeCode.ILLEGAL_ACCESS,
        stage=Stage.ATTEMPTED,
        severity=Severity.HIGH,
        confidence=0.9,
        title="SQL injection attempt from 203.0.113.7",
        explanation="GET /s?id=1'-- from 203.0.113.7",
        subject=Subject("source.ip", "203.0.113.7"),
        first_seen=T0,
        last_seen=T0,
        evidence=(EventRef("logs/access.log", 12, 3456),),
        details={"rules": ["WH-SQLI-001"]},
        tags=("attack:sqli",),
    )


def test_ids_are_the_ones_earlier_versions_gave() -> None:
    """Pinned values, computed by the release before ids were computed from a copied hash state."""
    assert alert_id("web.attack_patterns", "logs/access.log:12:3456") == "wh-1cb5398891b4b25cc1ee8999"
    assert (
        alert_id("accounts.failed_login_burst", "source.ip=203.0.113.7|2026-03-02T09:00:00+00:00")
        == "wh-90ea29dc4b3773a77562d6ff"
    )
    assert alert_id("web.attack_patterns", "журнал.log:1:None") == "wh-c8d12347f269065c65ffd648"


def test_ids_follow_their_definition_for_many_detectors_in_any_order() -> None:
    """More detectors than the prefix memory holds, asked in turn: a remembered prefix hash is
    copied, never updated in place, so no id depends on the ids computed before it."""
    detectors = [f"family{i % 7}.detector_{i}" for i in range(600)]
    keys = ["a.log:1:None", "b.log:2:17", "source.ip=192.0.2.1", ""]
    for round_ in range(2):
        for detector in detectors if round_ == 0 else reversed(detectors):
            for key in keys:
                expected = "wh-" + hashlib.sha256(f"{detector}\x1f{key}".encode()).hexdigest()[:24]
                assert alert_id(detector, key) == expected


def test_from_finding_gives_the_alert_its_own_fields() -> None:
    finding = _finding()
    alert = Alert.from_finding(finding, "2")
    assert vars(alert) is not vars(finding)
    assert "id" not in vars(finding) and not hasattr(finding, "detector_version")
    assert list(vars(alert)) == [f.name for f in fields(Alert)]
    assert alert.id == alert_id(finding.detector, finding.key) and alert.detector_version == "2"


def test_an_alert_made_again_from_an_alert_takes_only_the_finding_fields() -> None:
    """An alert is a finding too: re-processing one (another detector version) keeps its id,
    takes the new version, and carries nothing else over."""
    first = Alert.from_finding(_finding(), "1")
    again = Alert.from_finding(first, "2")
    assert again.id == first.id and again.detector_version == "2"
    assert list(vars(again)) == [f.name for f in fields(Alert)]
    same_fields = [f.name for f in fields(Finding)]
    assert all(getattr(again, name) == getattr(first, name) for name in same_fields)
    assert Alert.from_dict(again.to_dict()) == again
