"""A scan detects and writes each batch with the cycle collector paused, and only then: reading runs
with it on, a caller's own setting survives the scan, and the alerts are those of a plain engine run."""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from watchhouse.core.alerts import Alert
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding
from watchhouse.core.identity import Pseudonymizer
from watchhouse.detect.engine import DetectionEngine
from watchhouse.detect.postprocess import PostProcessor
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.ingest import Quarantine, ReaderOptions, SourceReader
from watchhouse.runners.embedded import run_scan

KEY = b"test-key-test-key-0123456"


class Watching(WebAttackDetector):
    """The web detector, noting whether the collector ran while it detected or finalised."""

    def __init__(self) -> None:
        super().__init__()
        self.collector_on: list[bool] = []

    def detect(self, batch: EventBatch) -> list[Finding]:
        self.collector_on.append(gc.isenabled())
        return super().detect(batch)

    def finalize(self) -> list[Finding]:
        self.collector_on.append(gc.isenabled())
        return super().finalize()


class Sink:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.collector_on: list[bool] = []

    def write(self, alerts: Sequence[Alert]) -> None:
        self.collector_on.append(gc.isenabled())
        self.alerts.extend(alerts)

    def close(self) -> None:
        return None


class Progress:
    """Called between batches, while the next one is read."""

    def __init__(self) -> None:
        self.collector_on: list[bool] = []

    def start(self, total_bytes: int | None) -> None:
        return None

    def source(self, path: str) -> None:
        return None

    def advance(self, nbytes: int) -> None:
        self.collector_on.append(gc.isenabled())

    def events(self, count: int) -> None:
        self.collector_on.append(gc.isenabled())


def _requests(path: Path) -> Path:
    """Ordinary and attacking requests, enough for several small batches."""
    urls = ["/index.html", "/search?q=1'+union+select+password+from+users--", "/img/logo.png", "/p?f=../../etc/passwd"]
    with path.open("w") as out:
        for i in range(400):
            record = {
                "@timestamp": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
                "source.ip": f"192.0.2.{i % 7}",
                "http.request.method": "GET",
                "url.original": urls[i % len(urls)] + ("" if i % 3 else f"&n={i}"),
                "user_agent.original": "Mozilla/5.0",
            }
            out.write(json.dumps(record) + "\n")
    return path


def _scan(path: Path, detector: WebAttackDetector, sink: Sink, progress: Progress | None = None) -> None:
    engine = DetectionEngine([detector], PostProcessor({detector.info.name: detector.info.version}))
    with Quarantine(None) as quarantine:
        run_scan(
            [str(path)],
            reader_options=ReaderOptions(fmt="jsonl", dataset=Dataset.HTTP, batch_bytes=4096),
            engine=engine,
            sinks=[sink],
            quarantine=quarantine,
            pseudonymizer=Pseudonymizer(KEY),
            progress=progress,
        )


def test_detection_and_writing_run_with_the_collector_paused_and_reading_without(tmp_path: Path) -> None:
    path = _requests(tmp_path / "access.jsonl")
    detector, sink, progress = Watching(), Sink(), Progress()
    assert gc.isenabled()
    _scan(path, detector, sink, progress)
    assert gc.isenabled()
    assert len(detector.collector_on) >= 4 and not any(detector.collector_on)  # batches, then finalize
    assert len(sink.collector_on) == len(detector.collector_on) and not any(sink.collector_on)
    assert progress.collector_on and all(progress.collector_on)
    # the same alerts as the detector and post-processor give without a runner
    plain = WebAttackDetector()
    post = PostProcessor({plain.info.name: plain.info.version})
    with Quarantine(None) as quarantine:
        reader = SourceReader(
            str(path), ReaderOptions(fmt="jsonl", dataset=Dataset.HTTP), quarantine, Pseudonymizer(KEY)
        )
        expected = [alert for batch in reader.batches() for alert in post.process(plain.detect(batch))]
    assert len(expected) > 100 and [a.to_dict() for a in sink.alerts] == [a.to_dict() for a in expected]


@pytest.mark.parametrize("failing", ["detect", "write"])
def test_a_callers_paused_collector_stays_paused_and_a_failure_restores_it(tmp_path: Path, failing: str) -> None:
    path = _requests(tmp_path / "access.jsonl")
    gc.disable()
    try:
        _scan(path, Watching(), Sink())
        assert not gc.isenabled()
    finally:
        gc.enable()

    class Failing(Sink):
        def write(self, alerts: Sequence[Alert]) -> None:
            raise RuntimeError("sink down")

    class Crashing(Watching):
        def detect(self, batch: EventBatch) -> list[Finding]:
            raise RuntimeError("detector down")

    with pytest.raises(Exception, match="down"):
        _scan(path, Crashing() if failing == "detect" else Watching(), Failing() if failing == "write" else Sink())
    assert gc.isenabled()
