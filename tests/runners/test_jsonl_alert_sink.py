"""``JsonlAlertSink`` writes a batch's lines in one call; what a reader gets must not change: one
line per alert in order, each batch visible before the file is closed (a live ``tail -f``), an
empty batch writing nothing, and the lines reading back as the alerts written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from watchhouse.core.alerts import Alert
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.runners.sinks import JsonlAlertSink, read_alerts_jsonl

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _alerts(count: int, first_line: int) -> list[Alert]:
    alerts = []
    for n in range(first_line, first_line + count):
        seen = T0 + timedelta(seconds=n)
        finding = Finding(
            detector="web.attack_patterns",
            key=f"access.log:{n}:{n * 120}",
            crime_code=CrimeCode.ILLEGAL_ACCESS,
            stage=Stage.ATTEMPTED,
            severity=Severity.HIGH,
            confidence=0.8,
            title=f"SQL injection from 198.51.100.{n % 250}",
            explanation=f"GET /item?id=1' OR '1'='1 (line {n})",
            subject=Subject("source.ip", f"198.51.100.{n % 250}"),
            first_seen=seen,
            last_seen=seen,
            evidence=(EventRef("access.log", n, n * 120),),
            details={"rules": ["WH-SQLI-001"], "anomaly_score": 5, "hits": [{"rule": "WH-SQLI-001"}]},
            tags=("attack:sqli",),
        )
        alerts.append(Alert.from_finding(finding, "2"))
    return alerts


def test_batches_are_written_in_order_and_visible_before_close(tmp_path: Path) -> None:
    path = tmp_path / "out" / "alerts.jsonl"  # the folder is made
    sink = JsonlAlertSink(path)
    first, second = _alerts(3, 1), _alerts(2, 4)
    sink.write(first)
    assert read_alerts_jsonl(path) == first  # flushed: a reader sees the batch while the scan goes on
    sink.write([])
    assert path.read_bytes().count(b"\n") == 3
    sink.write(second)
    sink.close()
    assert sink.written == 5
    assert read_alerts_jsonl(path) == first + second
    lines = path.read_bytes().splitlines(keepends=True)
    assert lines == [alert.to_json() for alert in first + second]
    assert [orjson.loads(line)["key"] for line in lines] == [f"access.log:{n}:{n * 120}" for n in range(1, 6)]


def test_empty_scan_leaves_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlAlertSink(path)
    sink.write([])
    sink.close()
    assert path.read_bytes() == b""
    assert sink.written == 0
