"""The conformance suite every detector's tests inherit.

Subclass :class:`DetectorConformance` in a ``Test...`` class, set ``detector_class`` and implement
:meth:`positive_cases` and :meth:`negative_cases`; pytest then runs every check below against
the detector. The checks are the contract runners rely on: findings are well formed and point
at real input rows, results are deterministic, and splitting the input into other batch sizes or
restarting from a checkpoint changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from watchhouse.core.alerts import alert_id
from watchhouse.core.detector import Detector, DetectorInfo
from watchhouse.core.events import LINE_FIELD, OFFSET_FIELD, PATH_FIELD, EventBatch
from watchhouse.core.findings import EventRef, Finding
from watchhouse.core.taxonomy import CRIMES
from watchhouse.testing.factories import split_batch


@dataclass(frozen=True)
class SampleCase:
    """A named input: one or more batches of events fed in order, then ``finalize``."""

    name: str
    batches: tuple[EventBatch, ...]

    @classmethod
    def of(cls, name: str, *batches: EventBatch) -> SampleCase:
        return cls(name, tuple(batches))


def run_detector(detector: Detector, batches: tuple[EventBatch, ...] | list[EventBatch]) -> list[Finding]:
    """Feed batches in order (only the datasets the detector consumes), then finalize."""
    findings: list[Finding] = []
    for batch in batches:
        if batch.dataset in detector.info.datasets:
            findings.extend(detector.detect(batch))
    findings.extend(detector.finalize())
    return findings


def _ids(findings: list[Finding]) -> set[str]:
    return {alert_id(f.detector, f.key) for f in findings}


def _input_refs(batches: tuple[EventBatch, ...]) -> set[EventRef]:
    refs: set[EventRef] = set()
    for batch in batches:
        t = batch.table
        for p, ln, o in zip(
            t.column(PATH_FIELD).to_pylist(),
            t.column(LINE_FIELD).to_pylist(),
            t.column(OFFSET_FIELD).to_pylist(),
            strict=True,
        ):
            refs.add(EventRef(p, ln, o))
    return refs


class DetectorConformance:
    """Inherit and fill in; do not instantiate directly (pytest skips classes without Test)."""

    detector_class: ClassVar[type[Detector]]
    #: batch sizes used to check that results do not depend on how input is cut
    split_sizes: ClassVar[tuple[int, ...]] = (1, 3, 64)

    # -- to implement -------------------------------------------------------------------------
    def make_detector(self) -> Detector:
        return self.detector_class()

    def positive_cases(self) -> list[SampleCase]:
        """Inputs on which the detector must raise at least one finding."""
        raise NotImplementedError

    def negative_cases(self) -> list[SampleCase]:
        """Near misses: inputs that look suspicious but must raise nothing."""
        raise NotImplementedError

    # -- the contract -------------------------------------------------------------------------
    def test_info_is_declared(self) -> None:
        info = self.detector_class.info
        assert isinstance(info, DetectorInfo)
        assert info.crime_code in CRIMES
        assert self.detector_class.__doc__, "a detector's docstring says why it exists"

    def test_there_are_samples_both_ways(self) -> None:
        assert self.positive_cases(), "at least one positive sample"
        assert self.negative_cases(), "at least one near-miss sample"

    def test_empty_batch_yields_nothing(self) -> None:
        detector = self.make_detector()
        for dataset in self.detector_class.info.datasets:
            assert detector.detect(EventBatch.empty(dataset)) == []
        assert detector.finalize() == []

    def test_positives_fire(self) -> None:
        for case in self.positive_cases():
            findings = run_detector(self.make_detector(), case.batches)
            assert findings, f"positive sample {case.name!r} raised nothing"

    def test_near_misses_stay_quiet(self) -> None:
        for case in self.negative_cases():
            findings = run_detector(self.make_detector(), case.batches)
            assert not findings, f"near-miss {case.name!r} raised: {[f.title for f in findings]}"

    def test_findings_are_well_formed(self) -> None:
        info = self.detector_class.info
        for case in self.positive_cases():
            refs = _input_refs(case.batches)
            for f in run_detector(self.make_detector(), case.batches):
                assert f.detector == info.name
                assert f.crime_code in CRIMES
                assert f.explanation.strip() and f.title.strip()
                assert set(f.evidence) <= refs, f"{case.name}: evidence points outside the input"
                json.dumps(f.details)  # details must be JSON-ready

    def test_results_are_deterministic(self) -> None:
        for case in self.positive_cases():
            first = run_detector(self.make_detector(), case.batches)
            second = run_detector(self.make_detector(), case.batches)
            assert _ids(first) == _ids(second), case.name

    def test_batch_size_does_not_change_results(self) -> None:
        for case in self.positive_cases() + self.negative_cases():
            whole = EventBatch.concat(list(case.batches))
            expected = _ids(run_detector(self.make_detector(), [whole]))
            for size in self.split_sizes:
                pieces = split_batch(whole, size)
                assert _ids(run_detector(self.make_detector(), pieces)) == expected, (
                    f"{case.name}: batches of {size} rows give other alerts"
                )

    def test_checkpoint_and_restore_lose_and_repeat_nothing(self) -> None:
        for case in self.positive_cases():
            whole = EventBatch.concat(list(case.batches))
            expected = _ids(run_detector(self.make_detector(), [whole]))
            half = whole.num_rows // 2
            first = self.make_detector()
            before = first.detect(whole.slice(0, half))
            state = json.loads(json.dumps(first.checkpoint()))
            resumed = self.make_detector()
            resumed.restore(state)
            after = run_detector(resumed, [whole.slice(half)])
            assert _ids(before) | _ids(after) == expected, f"{case.name}: restart changed alerts"
            assert not (_ids(before) & _ids(after)), f"{case.name}: restart repeated alerts"
