"""The annotated samples of the fraud and data-theft detectors: positives fire as their header says,
near misses stay quiet, whatever the batch size.

Each sample under ``tests/samples/<detector>/`` is JSON lines of the detector's dataset with ``#``
comments saying why it is (or is not) the crime; ``# expect: N`` and ``# expect-<what>: value``
lines state what the detector must report, ``# options: {json}`` the detector's options.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from watchhouse.core.detector import Detector
from watchhouse.core.events import LINE_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.detectors.datatheft.bulk_record_access import BulkRecordAccessDetector
from watchhouse.detectors.fraud.card_testing import CardTestingDetector
from watchhouse.detectors.fraud.scam_messages import ScamMessageDetector
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import make_batch, split_batch

REPO = Path(__file__).resolve().parents[3]
DETECTORS: dict[str, tuple[type[Detector], Dataset]] = {
    "fraud.card_testing": (CardTestingDetector, Dataset.TRANSACTION),
    "fraud.scam_messages": (ScamMessageDetector, Dataset.MESSAGE),
    "datatheft.bulk_record_access": (BulkRecordAccessDetector, Dataset.DATA_ACCESS),
}


def load(path: Path, dataset: Dataset) -> tuple[EventBatch, dict[str, str], set[int]]:
    rel = path.relative_to(REPO).as_posix()
    rows, expect, lines = [], {}, set()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = text.strip()
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if (body.startswith("expect") or body.startswith("options")) and ":" in body:
                name, value = body.split(":", 1)
                expect[name.strip()] = value.strip()
            continue
        if stripped:
            row = json.loads(stripped)
            row[TIMESTAMP_FIELD] = datetime.fromisoformat(row[TIMESTAMP_FIELD])
            row[PATH_FIELD], row[LINE_FIELD] = rel, number
            rows.append(row)
            lines.add(number)
    return make_batch(dataset, rows, path=rel), expect, lines


def detector(name: str, expect: dict[str, str]) -> Detector:
    options: dict[str, Any] = json.loads(expect.get("options", "{}"))
    return DETECTORS[name][0](**options)


SAMPLES = [
    pytest.param(name, path, id=f"{name}/{path.stem}")
    for name in DETECTORS
    for path in sorted((REPO / "tests" / "samples" / name).glob("*.jsonl"))
]


def test_every_detector_has_positive_and_negative_samples() -> None:
    for name in DETECTORS:
        stems = [p.stem for p in (REPO / "tests" / "samples" / name).glob("*.jsonl")]
        assert any(s.startswith("positive_") for s in stems) and any(s.startswith("negative_") for s in stems), name


@pytest.mark.parametrize(("name", "path"), SAMPLES)
def test_sample(name: str, path: Path) -> None:
    batch, expect, lines = load(path, DETECTORS[name][1])
    findings = run_detector(detector(name, expect), [batch])
    pieces = run_detector(detector(name, expect), split_batch(batch, 7))
    assert [f.key for f in pieces] == [f.key for f in findings], "batching changed the findings"
    if path.stem.startswith("negative_"):
        assert findings == [], [f.title for f in findings]
        return
    assert len(findings) == int(expect["expect"]), [f.title for f in findings]
    for f in findings:
        assert f.detector == name
        assert f.evidence and all(r.line in lines for r in f.evidence)
        assert f.subject.kind == expect.get("expect-subject", f.subject.kind)
        assert f.stage.value == expect.get("expect-stage", f.stage.value)
        assert f.crime_code.value == expect.get("expect-crime", f.crime_code.value)
