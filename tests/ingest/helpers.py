"""Shared helpers for the ingest tests: read a file or bytes fully and check the line invariant."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import orjson
import polars as pl

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.identity import Pseudonymizer
from watchhouse.ingest import Quarantine, ReaderOptions, ReadStats, SourceReader

KEY = b"test-key-0123456789abcdef"
PSEUDO = Pseudonymizer(KEY)


@dataclass
class Outcome:
    reader: SourceReader
    stats: ReadStats
    batches: list[EventBatch]
    quarantine: Quarantine

    def frame(self, dataset: Dataset) -> pl.DataFrame:
        parts = [b.to_polars() for b in self.batches if b.dataset == dataset]
        return pl.concat(parts) if parts else pl.DataFrame()


def read(path: Path | str, quarantine_path: Path | None = None, **options: object) -> Outcome:
    quarantine = Quarantine(quarantine_path)
    reader = SourceReader(str(path), ReaderOptions(**options), quarantine, PSEUDO)  # type: ignore[arg-type]
    batches = list(reader.batches())
    quarantine.close()
    stats = reader.stats
    assert stats.lines == stats.total_events + stats.blank + stats.quarantined, stats
    assert quarantine.count == stats.quarantined
    return Outcome(reader, stats, batches, quarantine)


def read_bytes(tmp_path: Path, data: bytes, name: str = "input.log", **options: object) -> Outcome:
    """Write ``data`` into a fresh folder (hypothesis reuses tmp_path across examples) and read it."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    path = folder / name
    path.write_bytes(data)
    return read(path, folder / "quarantine.jsonl", **options)


def quarantined(out: Outcome) -> list[dict[str, object]]:
    path = out.quarantine.path
    if path is None or not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]
