"""``Alert.to_dict`` and ``Alert.to_json`` (every alert written) take short cuts; each must give the
record the plain field-by-field spelling gives: enum texts, an instant spelt once only when it is the
same object, references converted in bulk with None fields left out, and (``to_json``) UTC instants
formatted by orjson exactly as ``isoformat`` spells them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.core.alerts import Alert, alert_id, evidence_records
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _plain(alert: Alert) -> dict[str, Any]:
    """The record as it was spelt before the short cuts."""
    return {
        "detector": alert.detector,
        "key": alert.key,
        "crime_code": alert.crime_code.value,
        "stage": alert.stage.value,
        "severity": str(alert.severity),
        "confidence": alert.confidence,
        "title": alert.title,
        "explanation": alert.explanation,
        "subject": {"kind": alert.subject.kind, "value": alert.subject.value},
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "evidence": [ref.to_dict() for ref in alert.evidence],
        "details": dict(alert.details),
        "tags": list(alert.tags),
        "id": alert.id,
        "detector_version": alert.detector_version,
    }


def _alert(first: datetime, last: datetime, evidence: tuple[EventRef, ...], **changes: Any) -> Alert:
    values: dict[str, Any] = {
        "detector": "accounts.failed_login_burst",
        "key": f"source.ip=203.0.113.7|{first.isoformat()}",
        "crime_code": CrimeCode.ILLEGAL_ACCESS,
        "stage": Stage.ATTEMPTED,
        "severity": Severity.HIGH,
        "confidence": 0.8,
        "title": "Failed-login burst from 203.0.113.7",
        "explanation": "40 failed logins within 60 s",
        "subject": Subject("source.ip", "203.0.113.7"),
        "first_seen": first,
        "last_seen": last,
        "evidence": evidence,
        "details": {"failures": 40, "accounts": ["a1", "a2"]},
        "tags": ("attack:brute_force",),
    }
    values.update(changes)
    finding = Finding(**values)
    return Alert.many([finding], [alert_id(finding.detector, finding.key)], {finding.detector: "3"})[0]


REFERENCES = (
    EventRef("auth.log", 12),
    EventRef("access.jsonl", 3, 811),
    EventRef("stream:syslog", offset=4096),
    EventRef("upload.bin"),
    EventRef("журнал.log", 0, 0),
)


def test_references_convert_as_each_converts_itself() -> None:
    assert evidence_records(REFERENCES) == [ref.to_dict() for ref in REFERENCES]
    assert [list(r) for r in evidence_records(REFERENCES)] == [list(ref.to_dict()) for ref in REFERENCES]
    assert evidence_records(()) == []


@pytest.mark.parametrize("crime", list(CrimeCode))
def test_records_equal_the_plain_spelling_for_every_crime_stage_and_severity(crime: CrimeCode) -> None:
    for stage in Stage:
        for severity in Severity:
            alert = _alert(T0, T0 + timedelta(minutes=1), REFERENCES, crime_code=crime, stage=stage, severity=severity)
            record = alert.to_dict()
            assert record == _plain(alert) and list(record) == list(_plain(alert))
            assert Alert.from_dict(record) == alert


def test_an_instant_is_spelt_once_only_when_first_and_last_are_the_same_object() -> None:
    same = _alert(T0, T0, REFERENCES[:1])
    assert same.to_dict()["last_seen"] == "2026-03-02T09:00:00+00:00" == same.to_dict()["first_seen"]
    # the same instant in another zone: equal times, another spelling
    paris = T0.astimezone(ZoneInfo("Europe/Paris"))
    assert paris == T0
    moved = _alert(T0, paris, REFERENCES[:1])
    assert moved.to_dict()["last_seen"] == "2026-03-02T10:00:00+01:00" == _plain(moved)["last_seen"]
    offset = _alert(T0.astimezone(timezone(timedelta(hours=-5))), T0, REFERENCES[:1])
    assert offset.to_dict() == _plain(offset)


# -- to_json: the line an alerts file holds --------------------------------------------------------

_ZONES = st.sampled_from(
    [
        UTC,
        ZoneInfo("UTC"),
        timezone(timedelta(0)),
        timezone(timedelta(hours=-5)),
        timezone(timedelta(hours=5, minutes=30)),
        timezone(timedelta(minutes=1, seconds=30)),  # an offset of seconds orjson would round
        ZoneInfo("Europe/Amsterdam"),  # its 1900 offset was +00:19:32
        ZoneInfo("America/Sao_Paulo"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    first=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_ZONES),
    later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    same=st.booleans(),
    explanation=st.text(max_size=40),
    details=st.dictionaries(
        st.text(max_size=8), st.one_of(st.none(), st.integers(-(2**53), 2**53), st.text(max_size=20)), max_size=4
    ),
)
def test_json_line_is_the_record_written_as_json(
    first: datetime, later: timedelta, same: bool, explanation: str, details: dict[str, Any]
) -> None:
    last = first if same else first + later
    alert = _alert(first, last, REFERENCES, explanation=explanation, details=details)
    line = alert.to_json()
    assert line == orjson.dumps(_plain(alert)) + b"\n"
    # read back, it is the same record (compared as records: Python finds an instant of a repeated
    # hour at a change of clocks unequal to any instant in another zone, even itself)
    assert Alert.from_dict(orjson.loads(line)).to_dict() == alert.to_dict()


def test_json_line_spells_instants_as_isoformat_does_in_every_zone_it_takes_natively() -> None:
    # the zones to_json hands to orjson as they are: a microsecond, the first and last years
    for zone in (UTC, ZoneInfo("UTC")):
        for instant in (datetime(1, 1, 1, tzinfo=zone), datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=zone)):
            record = orjson.loads(_alert(instant, instant, REFERENCES[:1]).to_json())
            assert record["first_seen"] == instant.isoformat() == record["last_seen"]
    # an offset of seconds, which orjson would round to a minute, keeps its seconds
    odd = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(minutes=1, seconds=30)))
    assert orjson.loads(_alert(odd, odd, REFERENCES[:1]).to_json())["first_seen"] == "2026-03-02T09:00:00+00:01:30"
