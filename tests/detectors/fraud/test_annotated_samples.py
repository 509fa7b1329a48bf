"""The annotated samples of the fraud and data-theft detectors: positives fire as their header says,
near misses stay quiet, whatever the batch size.

Each sample under ``tests/samples/<detector>/`` is JSON lines of the detector's dataset with ``#``
comments saying why it is (or is not) the crime; ``# expect: N`` and ``# expect-<what>: value``
lines state what the detector must report, ``# options: {json}`` the detector's options.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from watchhouse.core.detector import Detector
from watchhouse.core.events import Dataset
from watchhouse.detectors.datatheft.bulk_record_access import BulkRecordAccessDetector
from watchhouse.detectors.fraud.card_testing import CardTestingDetector
from watchhouse.detectors.fraud.scam_messages import ScamMessageDetector
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import split_batch
from watchhouse.testing.samples import has_both_kinds, load_sample, sample_paths

REPO = Path(__file__).resolve().parents[3]
SAMPLE_ROOT = REPO / "tests" / "samples"
DETECTORS: dict[str, tuple[type[Detector], Dataset]] = {
    "fraud.card_testing": (CardTestingDetector, Dataset.TRANSACTION),
    "fraud.scam_messages": (ScamMessageDetector, Dataset.MESSAGE),
    "datatheft.bulk_record_access": (BulkRecordAccessDetector, Dataset.DATA_ACCESS),
}


def detector(name: str, expect: dict[str, str]) -> Detector:
    options: dict[str, Any] = json.loads(expect.get("options", "{}"))
    return DETECTORS[name][0](**options)


SAMPLES = [
    pytest.param(name, path, id=f"{name}/{path.stem}") for name in DETECTORS for path in sample_paths(SAMPLE_ROOT, name)
]


def test_every_detector_has_positive_and_negative_samples() -> None:
    for name in DETECTORS:
        assert has_both_kinds(SAMPLE_ROOT, name), name


@pytest.mark.parametrize(("name", "path"), SAMPLES)
def test_sample(name: str, path: Path) -> None:
    sample = load_sample(path, DETECTORS[name][1], REPO)
    batch, expect, lines = sample.batch, sample.header, sample.lines
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
