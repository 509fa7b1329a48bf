from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from watchhouse.core.alerts import Alert
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.storage.alert_store import AlertFilter, AlertStore

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def alert(n: int, severity: Severity = Severity.HIGH, crime: CrimeCode = CrimeCode.ILLEGAL_ACCESS) -> Alert:
    return Alert.from_finding(
        Finding(
            detector="web.attack_patterns",
            key=f"k{n}",
            crime_code=crime,
            stage=Stage.ATTEMPTED,
            severity=severity,
            confidence=0.8,
            title=f"alert {n}",
            explanation="because",
            subject=Subject("source.ip", f"203.0.113.{n}"),
            first_seen=T0 + timedelta(minutes=n),
            last_seen=T0 + timedelta(minutes=n + 1),
            evidence=(EventRef("/logs/a.log", n), EventRef("/logs/a.log", n + 1)),
            details={"rule": "WH-1", "n": n},
        ),
        "1",
    )


def test_saving_is_idempotent(tmp_path: Path) -> None:
    store = AlertStore.sqlite(tmp_path / "office.db")
    assert store.save([alert(1), alert(2)]) == 2
    assert store.save([alert(1), alert(2), alert(3)]) == 1
    assert store.count() == 3
    assert store.save([alert(4), alert(4), alert(1)]) == 1  # twice in one batch: stored once, counted once
    assert store.count() == 4


def test_round_trip_and_filters(tmp_path: Path) -> None:
    store = AlertStore.sqlite(tmp_path / "office.db")
    store.save([alert(1, Severity.LOW), alert(2, Severity.CRITICAL, CrimeCode.DATA_INTERFERENCE), alert(3)])
    got = store.get(alert(2).id)
    assert got == alert(2, Severity.CRITICAL, CrimeCode.DATA_INTERFERENCE)
    assert got is not None and got.first_seen.tzinfo is not None and got.details == {"rule": "WH-1", "n": 2}
    assert [a.key for a in store.query(AlertFilter())] == ["k2", "k3", "k1"]
    assert [a.key for a in store.query(AlertFilter(min_severity=Severity.HIGH))] == ["k2", "k3"]
    assert [a.key for a in store.query(AlertFilter(crime_code=CrimeCode.DATA_INTERFERENCE))] == ["k2"]
    assert [a.key for a in store.query(AlertFilter(subject="203.0.113.3"))] == ["k3"]
    assert store.find_prefix(alert(3).id[:10]) == [alert(3).id]
    assert store.get("wh-missing") is None
    assert len(list(store.all())) == 3
