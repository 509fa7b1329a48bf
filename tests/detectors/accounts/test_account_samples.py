"""The annotated samples of the spraying, stuffing and takeover detectors: positives fire as their
header says, near misses stay quiet, and neither depends on how the sample is cut into batches.

Each sample under ``tests/samples/accounts.<detector>/`` is auth JSON lines with ``#`` comments
saying why it is (or is not) the crime; ``# expect: N`` and ``# expect-<field>: value`` lines
state what the detector must report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from watchhouse.core.detector import Detector
from watchhouse.core.events import Dataset
from watchhouse.core.findings import EventRef
from watchhouse.detectors.accounts.credential_stuffing import CredentialStuffingDetector
from watchhouse.detectors.accounts.password_spraying import PasswordSprayingDetector
from watchhouse.detectors.accounts.takeover import AccountTakeoverDetector
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import split_batch
from watchhouse.testing.samples import has_both_kinds, load_sample, sample_paths

REPO = Path(__file__).resolve().parents[3]
SAMPLE_ROOT = REPO / "tests" / "samples"
DETECTORS: dict[str, type[Detector]] = {
    "accounts.password_spraying": PasswordSprayingDetector,
    "accounts.credential_stuffing": CredentialStuffingDetector,
    "accounts.takeover": AccountTakeoverDetector,
}


SAMPLES = [
    pytest.param(name, path, id=f"{name}/{path.stem}") for name in DETECTORS for path in sample_paths(SAMPLE_ROOT, name)
]


def test_every_detector_has_positive_and_negative_samples() -> None:
    for name in DETECTORS:
        assert has_both_kinds(SAMPLE_ROOT, name), name


@pytest.mark.parametrize(("name", "path"), SAMPLES)
def test_sample(name: str, path: Path) -> None:
    sample = load_sample(path, Dataset.AUTH, REPO)
    batch, expect, lines = sample.batch, sample.header, sample.lines
    findings = run_detector(DETECTORS[name](), [batch])
    if path.stem.startswith("negative_"):
        assert findings == [], [f.title for f in findings]
        return
    assert len(findings) == int(expect["expect"]), [f.title for f in findings]
    for f in findings:
        assert f.detector == name
        assert f.evidence and all(isinstance(r, EventRef) and r.line in lines for r in f.evidence)
        if "expect-subject" in expect:
            assert f.subject.kind == expect["expect-subject"]
        if "expect-stage" in expect:
            assert f.stage.value == expect["expect-stage"]
        if "expect-severity" in expect:
            assert str(f.severity) == expect["expect-severity"]
    # the same findings whatever the batch size
    for size in (1, 7):
        again = run_detector(DETECTORS[name](), split_batch(batch, size))
        assert sorted((f.key, f.evidence) for f in again) == sorted((f.key, f.evidence) for f in findings)
