"""The embedded runner: read sources in bounded batches, detect, post-process, write alerts.

Memory is bounded by the batch size, not the input size: each reader yields batches of a few MiB
and detectors keep only windowed state.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from watchhouse.core.events import Dataset
from watchhouse.core.finding_rows import AlertBatch
from watchhouse.core.findings import Severity
from watchhouse.core.gc_pause import BatchPauses, paused_gc
from watchhouse.core.identity import Pseudonymizer
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detect.engine import DetectionEngine
from watchhouse.detect.postprocess import PostProcessStats
from watchhouse.ingest import Quarantine, ReaderOptions, ReadStats, SourceReader
from watchhouse.runners.sinks import AlertSink


class ScanProgress(Protocol):
    """What a runner reports while it works; the CLI draws it, tests can record it."""

    def start(self, total_bytes: int | None) -> None: ...

    def source(self, path: str) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def events(self, count: int) -> None: ...


@dataclass
class ScanSummary:
    seconds: float = 0.0
    sources: list[ReadStats] = field(default_factory=list)
    alerts: Counter[tuple[CrimeCode, Severity]] = field(default_factory=Counter)
    by_detector: Counter[str] = field(default_factory=Counter)
    undetected_datasets: set[Dataset] = field(default_factory=set)
    post: PostProcessStats = field(default_factory=PostProcessStats)
    quarantine_path: str | None = None
    interrupted: bool = False  # stopped by Ctrl-C; everything read up to then was processed

    @property
    def events(self) -> int:
        return sum(sum(s.events.values()) for s in self.sources)

    @property
    def lines(self) -> int:
        return sum(s.lines for s in self.sources)

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.sources)

    @property
    def blank(self) -> int:
        return sum(s.blank for s in self.sources)

    @property
    def alert_count(self) -> int:
        return sum(self.alerts.values())

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


#: allocations between young-generation collections while a scan runs (CPython's default is 700)
SCAN_GC_THRESHOLD = 20_000


@contextmanager
def scan_gc(threshold: int = SCAN_GC_THRESHOLD) -> Iterator[None]:
    """Garbage-collect less often while batches stream through, as the standard thresholds are tuned
    for small heaps.

    Why: a scan allocates millions of short-lived objects (parsed values, hits, alerts) next to a
    large heap that never dies (imported modules, compiled rule packs, detector caches). With the
    default thresholds the collector ran about 800 times per million access-log lines and each
    full collection walked that whole heap again: 13% of the CPU time of read + web detection.
    Freezing the heap that exists when the scan starts takes it out of every collection, and a
    larger young generation makes collections rarer; garbage cycles are still collected, only in
    bigger steps. Both settings are restored afterwards, whatever happens.
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(threshold, max(previous[1], 50), max(previous[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def run_scan(
    paths: Sequence[str],
    *,
    reader_options: ReaderOptions,
    engine: DetectionEngine,
    sinks: Sequence[AlertSink],
    quarantine: Quarantine,
    pseudonymizer: Pseudonymizer,
    progress: ScanProgress | None = None,
) -> ScanSummary:
    """Scan every path in order; alerts are written as they are produced.

    Each batch is detected, post-processed and written with the cycle collector paused. Why:
    findings and alerts are acyclic records that live from detection until they are written, then
    die; a batch can raise thousands, each a dozen containers (details, hit records, evidence),
    and the collector, woken every few thousand allocations, walked the live ones again and again
    (a tenth of the CPU time of a web scan that flags most requests). Paused until they are
    written, they are freed by reference counting unseen. What outlives the batch (what the
    detectors remember) is then frozen, not walked by the next collection (:class:`~watchhouse.
    core.gc_pause.BatchPauses`); the collector still runs while the next batch is read, and a cycle
    a detector leaves behind is collected at the frozen heap's next full look or after the scan.
    """
    summary = ScanSummary(post=engine.postprocessor.stats)
    started = time.perf_counter()
    readers = [SourceReader(p, reader_options, quarantine, pseudonymizer) for p in paths]
    if progress is not None:
        hints = [r.size_hint() for r in readers]
        progress.start(None if any(h is None for h in hints) else sum(h or 0 for h in hints))

    def emit(alerts: AlertBatch) -> None:
        by_crime, by_detector = alerts.counts()  # from rows where alerts are still rows
        summary.alerts.update(by_crime)
        summary.by_detector.update(by_detector)
        for sink in sinks:
            sink.write(alerts)

    with scan_gc():
        pauses = BatchPauses()
        try:
            for reader in readers:
                if progress is not None:
                    progress.source(reader.path)
                summary.sources.append(reader.stats)
                for batch in reader.batches(progress.advance if progress is not None else None):
                    if progress is not None:
                        progress.events(batch.num_rows)
                    if not engine.consumes(batch.dataset):
                        summary.undetected_datasets.add(batch.dataset)
                        continue
                    with pauses.batch():  # from detection until the alerts are written (see above)
                        emit(engine.alerts(batch))
        except KeyboardInterrupt:
            # Ctrl-C on a live pipe (`tail -F log | watchhouse scan -`) is how such a scan ends: what
            # was read is still finalised and written, and the caller reports the interruption.
            summary.interrupted = True
        with paused_gc():  # as for each batch
            emit(AlertBatch([engine.finalize()]))
    summary.seconds = time.perf_counter() - started
    summary.quarantine_path = str(quarantine.path) if quarantine.path and quarantine.count else None
    return summary
