from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from watchhouse.core.alerts import Alert
from watchhouse.core.errors import InputError
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.eval.labelled import evaluate, load_labels

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def alert(detector: str, crime: CrimeCode, refs: list[tuple[Path, int]]) -> Alert:
    return Alert.from_finding(
        Finding(
            detector=detector,
            key=str(refs),
            crime_code=crime,
            stage=Stage.ATTEMPTED,
            severity=Severity.HIGH,
            confidence=0.9,
            title="t",
            explanation="e",
            subject=Subject("source.ip", "203.0.113.1"),
            first_seen=T0,
            last_seen=T0,
            evidence=tuple(EventRef(str(p), n) for p, n in refs),
        ),
        "1",
    )


@pytest.fixture
def labels_file(tmp_path: Path) -> Path:
    rows = [
        {"path": "access.log", "line": n, "crime_code": "illegal_access", "scenario": "web", "instance": "web#1"}
        for n in (10, 11, 12, 13)
    ] + [
        {
            "path": "auth.jsonl",
            "line": n,
            "crime_code": "illegal_access",
            "scenario": "bf",
            "instance": f"bf#{n // 100}",
        }
        for n in (100, 101, 200)
    ]
    path = tmp_path / "labels.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_recall_and_precision_by_the_documented_rules(labels_file: Path) -> None:
    base = labels_file.parent
    access, auth = base / "access.log", base / "auth.jsonl"
    alerts = [
        alert("web.x", CrimeCode.ILLEGAL_ACCESS, [(access, 10)]),
        alert("web.x", CrimeCode.ILLEGAL_ACCESS, [(access, 11)]),
        alert("web.x", CrimeCode.ILLEGAL_ACCESS, [(access, 99)]),  # benign line: false positive
        alert("web.x", CrimeCode.DATA_INTERFERENCE, [(access, 12)]),  # wrong crime: no recall credit, FP
        alert("acc.y", CrimeCode.ILLEGAL_ACCESS, [(auth, 100), (auth, 101), (auth, 5)]),  # 2/3 labelled: TP
    ]
    report = evaluate(load_labels(labels_file), alerts)
    assert (report.scenario_lines["web"].hits, report.scenario_lines["web"].total) == (2, 4)
    assert report.scenario_incidents["bf"].hits == 1 and report.scenario_incidents["bf"].total == 2
    assert report.detector_precision["web.x"].hits == 2 and report.detector_precision["web.x"].total == 4
    assert report.detector_precision["acc.y"].value == 1.0
    assert report.crime_recall["illegal_access"].hits == 4
    assert report.crime_precision["data_interference"].value == 0.0


def test_bad_label_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text('{"path": "a", "line": 1, "crime_code": "x", "scenario": "s"}\n{"path": "a"}\n')
    with pytest.raises(InputError, match=r"labels\.jsonl:2"):
        load_labels(path)
    with pytest.raises(InputError, match="cannot read labels"):
        load_labels(tmp_path / "missing.jsonl")


def test_scenario_precision_counts_alerts_by_their_scenario(labels_file: Path) -> None:
    base = labels_file.parent
    access, auth = base / "access.log", base / "auth.jsonl"
    alerts = [
        alert("web.x", CrimeCode.ILLEGAL_ACCESS, [(access, 10), (access, 11)]),
        alert("acc.y", CrimeCode.ILLEGAL_ACCESS, [(auth, 100), (auth, 7), (auth, 8)]),  # 1/3 labelled: FP of bf
        alert("acc.y", CrimeCode.ILLEGAL_ACCESS, [(auth, 9)]),  # nothing labelled: FP for every scenario
    ]
    report = evaluate(load_labels(labels_file), alerts)
    assert (report.scenario_precision["web"].hits, report.scenario_precision["web"].total) == (1, 2)
    assert (report.scenario_precision["bf"].hits, report.scenario_precision["bf"].total) == (0, 2)
