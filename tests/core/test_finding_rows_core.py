"""Findings and alerts held as rows (:mod:`watchhouse.core.finding_rows`): a sequence of the same
objects to every reader, made once; post-processing that decides as it does for objects, part by
part; alert batches that count and write without making objects, in order across their parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from watchhouse.core.alerts import Alert
from watchhouse.core.finding_rows import AlertBatch, AlertRows, FindingRows
from watchhouse.core.findings import EventRef, Finding, Severity, Stage, Subject
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detect.postprocess import PostProcessor
from watchhouse.detect.suppression import Suppression

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
VERSIONS = {"fraud.rows": "7", "accounts.objects": "3"}


def _finding(detector: str, n: int, severity: Severity = Severity.HIGH) -> Finding:
    return Finding(
        detector=detector,
        key=f"k{n}",
        crime_code=CrimeCode.COMPUTER_FRAUD if n % 2 else CrimeCode.ILLEGAL_ACCESS,
        stage=Stage.ATTEMPTED,
        severity=severity,
        confidence=0.7,
        title=f"finding {n}",
        explanation=f"row {n}",
        subject=Subject("source.ip", f"198.51.100.{n % 5}"),
        first_seen=T0 + timedelta(seconds=n),
        last_seen=T0 + timedelta(seconds=n),
        evidence=(EventRef("pay.log", n),),
        details={"n": n},
    )


class Listed(FindingRows):
    """Rows over ready findings, counting how often they are made; lines written from a copy."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(
            "fraud.rows", [f.key for f in findings], [f.severity for f in findings], [f.crime_code for f in findings]
        )
        self._ready = findings
        self.made = 0

    def _make(self) -> list[Finding]:
        self.made += 1
        return list(self._ready)

    def alert_lines(self, indices: list[int], ids: list[str], version: str) -> bytes:
        alerts = Alert.many([self._ready[i] for i in indices], ids, {self.detector: version})
        return b"".join(alert.to_json() for alert in alerts)


def _rows(*numbers: int, severity: Severity = Severity.HIGH) -> Listed:
    return Listed([_finding("fraud.rows", n, severity) for n in numbers])


def test_rows_are_a_sequence_of_findings_made_once() -> None:
    rows = _rows(1, 2, 3)
    assert len(rows) == 3 and rows.made == 0
    assert rows[0].key == "k1" and rows[-1].key == "k3" and [f.key for f in rows[1:]] == ["k2", "k3"]
    assert list(rows) == rows.findings and rows[0] is rows.findings[0]
    assert rows.made == 1
    assert "fraud.rows: 3 finding(s)" in repr(rows)


def test_rows_must_describe_every_row() -> None:
    with pytest.raises(ValueError, match="every row"):
        FindingRows.__init__(_rows(1), "x", ["a", "b"], [Severity.LOW], [CrimeCode.COMPUTER_FRAUD])

    class Short(Listed):
        def _make(self) -> list[Finding]:
            return super()._make()[:1]

    with pytest.raises(ValueError, match="made 1 findings from 2 rows"):
        list(Short([_finding("fraud.rows", 1), _finding("fraud.rows", 2)]))


def test_parts_are_post_processed_as_the_findings_joined() -> None:
    """Rows, objects, repeats within and across parts and batches, a threshold: the same alerts,
    ids, order and counts as one ``process`` call over the parts joined."""
    objects = [_finding("accounts.objects", n, Severity.LOW if n % 3 == 0 else Severity.HIGH) for n in range(6)]
    batches = [
        [_rows(1, 2, 3, 2), objects[:4]],
        [objects[2:], _rows(3, 4, severity=Severity.LOW), _rows(5)],
        [_rows(1, 6), []],
    ]
    for min_severity in (Severity.INFO, Severity.MEDIUM):
        by_parts = PostProcessor(VERSIONS, min_severity=min_severity)
        joined = PostProcessor(VERSIONS, min_severity=min_severity)
        for parts in batches:
            got = by_parts.process_parts(parts)
            expected = joined.process([f for part in parts for f in part])
            assert list(got) == expected and len(got) == len(expected)
            assert [a.detector_version for a in got] == [a.detector_version for a in expected]
            assert got.json_lines() == b"".join(a.to_json() for a in expected)
        assert by_parts.stats == joined.stats and by_parts.stats.duplicates >= 3


def test_with_suppressions_every_finding_is_made_and_judged() -> None:
    rule = Suppression(reason="known tester", expires=T0 + timedelta(days=1), subject="source.ip=198.51.100.1")
    rows = _rows(1, 2, 6, 11)
    got = PostProcessor(VERSIONS, suppressions=[rule]).process_parts([rows])
    assert rows.made == 1
    assert [a.key for a in got] == ["k2"]
    post = PostProcessor(VERSIONS, suppressions=[rule])
    post.process_parts([_rows(1, 2, 6, 11)])
    assert post.stats.suppressed == {"known tester": 3}


def test_an_alert_batch_counts_and_writes_without_making_objects() -> None:
    rows = _rows(1, 2, 3, 4)
    objects = Alert.many([_finding("accounts.objects", 9)], ["wh-9"], VERSIONS)
    batch = AlertBatch(
        [objects, AlertRows(rows, [0, 2, 3], ["wh-1", "wh-3", "wh-4"], "7"), [], AlertRows(rows, [], [], "7")]
    )
    assert len(batch) == 4 and rows.made == 0
    lines = batch.json_lines()
    crimes, detectors = batch.counts()
    assert rows.made == 0
    made = list(batch)
    assert rows.made == 1 and [a.id for a in made] == ["wh-9", "wh-1", "wh-3", "wh-4"]
    assert lines == b"".join(a.to_json() for a in made)
    assert crimes == {
        (CrimeCode.COMPUTER_FRAUD, Severity.HIGH): 3,  # 9, 1 and 3 are odd
        (CrimeCode.ILLEGAL_ACCESS, Severity.HIGH): 1,
    }
    assert detectors == {"accounts.objects": 1, "fraud.rows": 3}
    assert batch[1] is made[1] and batch[-1].key == "k4" and batch[:2] == made[:2]
    assert AlertBatch().json_lines() == b"" and len(AlertBatch()) == 0 and list(AlertBatch()) == []


def test_the_engine_gives_objects_or_a_batch_alike() -> None:
    from watchhouse.core.detector import Detector, DetectorFamily, DetectorInfo
    from watchhouse.core.events import Dataset, EventBatch
    from watchhouse.detect.engine import DetectionEngine
    from watchhouse.testing.factories import make_batch

    class RowsDetector(Detector):
        info = DetectorInfo(
            name="fraud.rows",
            version="7",
            family=DetectorFamily.FRAUD,
            datasets=frozenset({Dataset.TRANSACTION}),
            default_severity=Severity.HIGH,
            crime_code=CrimeCode.COMPUTER_FRAUD,
            summary="Findings held as rows (a test double).",
        )

        def detect(self, batch: EventBatch) -> list[Finding]:
            return list(self.detect_rows(batch))

        def detect_rows(self, batch: EventBatch) -> Listed:
            return _rows(*range(batch.num_rows))

    batch = make_batch(Dataset.TRANSACTION, [{}] * 5)
    engine = DetectionEngine([RowsDetector()], PostProcessor(VERSIONS))
    alerts = engine.alerts(batch)
    assert isinstance(alerts, AlertBatch) and len(alerts) == 5
    again = DetectionEngine([RowsDetector()], PostProcessor(VERSIONS)).process(batch)
    assert isinstance(again, list) and again == list(alerts)
    assert engine.process(batch) == []  # the same ids again: duplicates


@pytest.mark.parametrize("size", [1, 2, 3, 512])
def test_a_batch_is_written_in_pieces_of_at_most_size_alerts(size: int) -> None:
    """``json_chunks`` gives what ``json_lines`` gives, a piece at a time, each made when asked for,
    from rows or (once someone read them) from the objects."""
    rows = _rows(1, 2, 3, 4, 5)
    objects = Alert.many([_finding("accounts.objects", n) for n in (8, 9)], ["wh-8", "wh-9"], VERSIONS)
    batch = AlertBatch([objects, AlertRows(rows, [0, 1, 2, 4], ["wh-1", "wh-2", "wh-3", "wh-5"], "7")])
    pieces = batch.json_chunks(size)
    first = next(pieces)
    assert first.count(b"\n") == min(size, 2)  # the objects' segment is cut on its own
    rest = list(pieces)
    assert all(0 < piece.count(b"\n") <= size for piece in rest) and rows.made == 0
    assert first + b"".join(rest) == batch.json_lines()
    made = list(batch)  # read: the pieces come from the objects now
    assert b"".join(batch.json_chunks(size)) == b"".join(a.to_json() for a in made)
    assert all(piece.count(b"\n") <= size for piece in batch.json_chunks(size))
    assert list(AlertBatch().json_chunks(size)) == []
