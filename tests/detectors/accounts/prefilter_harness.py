"""Runs a windowed detector with and without its numpy pre-filter (``_plausible``), so a test can
check that the pre-filter only saves work: same findings, fewer rows judged in full."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from watchhouse.core.events import Dataset
from watchhouse.core.findings import Finding
from watchhouse.detectors.accounts.tumbling import WindowedLoginDetector
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import make_batch


def with_and_without_prefilter(
    monkeypatch: pytest.MonkeyPatch, detector: type[WindowedLoginDetector], rows: list[dict[str, Any]], size: int
) -> tuple[list[Finding], list[Finding], list[tuple[int, int]]]:
    """Findings with the pre-filter, findings judging every row, and per judge call the rows the
    pre-filter was given and kept. ``rows`` go in batches of ``size``."""
    batches = [make_batch(Dataset.AUTH, rows[i : i + size]) for i in range(0, len(rows), size)]
    kept: list[tuple[int, int]] = []
    plausible = detector._plausible  # type: ignore[attr-defined]

    def counted(self: WindowedLoginDetector, frame: pl.DataFrame) -> pl.DataFrame:
        out: pl.DataFrame = plausible(self, frame)
        kept.append((frame.height, out.height))
        return out

    monkeypatch.setattr(detector, "_plausible", counted)
    filtered = run_detector(detector(), batches)
    monkeypatch.setattr(detector, "_plausible", lambda self, frame: frame)
    everything = run_detector(detector(), batches)
    return filtered, everything, kept
