"""The detection engine: routes each batch to the detectors that consume its dataset.

Both the embedded runner and the Spark runner drive this same object, so detection behaves the
same whatever executes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watchhouse.core.alerts import Alert
from watchhouse.core.detector import Detector
from watchhouse.core.errors import DetectorError
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.finding_rows import AlertBatch
from watchhouse.core.findings import Finding
from watchhouse.core.gc_pause import paused_gc
from watchhouse.detect.postprocess import PostProcessor


class DetectionEngine:
    def __init__(self, detectors: Sequence[Detector], postprocessor: PostProcessor) -> None:
        names = [d.info.name for d in detectors]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise DetectorError(f"detector enabled twice: {', '.join(sorted(duplicates))}")
        self.detectors = list(detectors)
        self.postprocessor = postprocessor
        self._routes: dict[Dataset, list[Detector]] = {
            ds: [d for d in detectors if ds in d.info.datasets] for ds in Dataset
        }

    def consumes(self, dataset: Dataset) -> bool:
        return bool(self._routes[dataset])

    def process(self, batch: EventBatch) -> list[Alert]:
        """The alerts of one batch: every detector of its dataset, then post-processing, with the
        cycle collector paused throughout (as :func:`.run_scan` pauses it until they are written).

        Why all of it: findings and alerts are plain acyclic records, and a batch can raise
        thousands citing hundreds of thousands of lines; the detectors' columnar work makes
        many short-lived acyclic wrappers (series, frames, arrays) as well. The collector, woken
        every few hundred allocations, walked them all again and again, a tenth of the account
        detectors' time. Reference counting frees them; a cycle one leaves behind is collected
        after the batch."""
        with paused_gc():
            return list(self.alerts(batch))

    def alerts(self, batch: EventBatch) -> AlertBatch:
        """:meth:`process`'s alerts as an :class:`AlertBatch`: rows a detector held as rows stay rows
        (see :mod:`watchhouse.core.finding_rows`), to be written without being made. What the
        embedded runner writes; the collector is paused as in :meth:`process`."""
        with paused_gc():
            parts = [
                _guarded(detector, "detect", lambda d=detector: d.detect_rows(batch))
                for detector in self._routes[batch.dataset]
            ]
            return self.postprocessor.process_parts(parts)

    def finalize(self) -> list[Alert]:
        findings: list[Finding] = []
        with paused_gc():  # as in process()
            for detector in self.detectors:
                findings.extend(_guarded(detector, "finalize", detector.finalize))
            return self.postprocessor.process(findings)

    def checkpoint(self) -> dict[str, Any]:
        return {d.info.name: d.checkpoint() for d in self.detectors}

    def restore(self, state: dict[str, Any]) -> None:
        """Each detector's state from :meth:`checkpoint`; a detector that cannot read its part (a
        checkpoint from a version whose state layout it no longer reads) is named in the error."""
        for detector in self.detectors:
            try:
                detector.restore(state.get(detector.info.name, {}))
            except Exception as exc:
                raise DetectorError(
                    f"detector {detector.info.name} cannot restore its checkpoint: {type(exc).__name__}: {exc}"
                ) from exc


def _guarded(detector: Detector, stage: str, call: Any) -> Any:
    """Name the detector when it fails: a crash inside a plug-in must be attributable."""
    try:
        result = call()
    except Exception as exc:
        raise DetectorError(f"detector {detector.info.name} failed in {stage}: {type(exc).__name__}: {exc}") from exc
    return result
