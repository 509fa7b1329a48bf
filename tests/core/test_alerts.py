from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watchhouse.core.alerts import Alert, alert_id
from watchhouse.core.detector import DetectorFamily, DetectorInfo
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import Dataset
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CRIMES, CrimeCode, crime

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def finding(**changes: object) -> Finding:
    values: dict[str, object] = {
        "detector": "web.attack_patterns",
        "key": "a.log:3",
        "crime_code": CrimeCode.ILLEGAL_ACCESS,
        "stage": Stage.ATTEMPTED,
        "severity": Severity.HIGH,
        "confidence": 0.9,
        "title": "SQL injection attempt",
        "explanation": "matched",
        "subject": Subject("source.ip", "203.0.113.7"),
        "first_seen": T0,
        "last_seen": T0,
        "evidence": (EventRef("a.log", 3),),
        "details": {"rules": ["WH-SQLI-001"]},
    }
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


def test_alert_ids_are_deterministic_and_detector_scoped() -> None:
    assert alert_id("a.b", "k") == alert_id("a.b", "k")
    assert alert_id("a.b", "k") != alert_id("a.c", "k")
    assert alert_id("a.b", "k") != alert_id("a.b", "k2")


def test_alert_round_trips_through_dict() -> None:
    alert = Alert.from_finding(finding(tags=("attack.t1190",)), "1")
    again = Alert.from_dict(alert.to_dict())
    assert again == alert
    assert again.details == alert.details
    assert alert.to_dict()["severity"] == "high"


def test_alert_from_finding_equals_the_validating_constructor() -> None:
    """``from_finding`` copies fields without the dataclass constructor; the result must be the
    alert that constructor builds, field for field, and stay frozen."""
    source = finding(tags=("attack.t1190",))
    fast = Alert.from_finding(source, "2")
    slow = Alert(
        id=alert_id(source.detector, source.key),
        detector_version="2",
        **{name: getattr(source, name) for name in vars(source)},
    )
    assert fast == slow and repr(fast) == repr(slow) and hash(fast.id) == hash(slow.id)
    assert fast.details == slow.details and fast.tags == ("attack.t1190",)
    with pytest.raises(AttributeError):
        fast.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"confidence": 1.5}, "confidence"),
        ({"evidence": ()}, "evidence"),
        ({"last_seen": datetime(2026, 3, 1, tzinfo=UTC)}, "precedes"),
    ],
)
def test_malformed_findings_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        finding(**change)


def test_taxonomy_is_closed_and_cites_law() -> None:
    assert len(CRIMES) == len(CrimeCode) == 12
    assert all(d.instrument for d in CRIMES.values())
    assert crime("computer_fraud").instrument.endswith("Article 8")
    assert CRIMES[CrimeCode.TERRORIST_CONTENT].hash_list_only
    with pytest.raises(ValueError):
        crime("rumours")


@pytest.mark.parametrize("name", ["Web.Sqli", "sqli", "accounts.brute", "web."])
def test_detector_names_are_checked(name: str) -> None:
    with pytest.raises(DetectorError):
        DetectorInfo(
            name, "1", DetectorFamily.WEB, frozenset({Dataset.HTTP}), Severity.LOW, CrimeCode.ILLEGAL_ACCESS, "x"
        )


def test_severity_parse_names_choices() -> None:
    assert Severity.parse(" High ") is Severity.HIGH
    with pytest.raises(ValueError, match="info, low, medium, high, critical"):
        Severity.parse("urgent")
