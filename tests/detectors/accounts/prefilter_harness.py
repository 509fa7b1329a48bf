"""Runs a windowed detector with and without its numpy pre-filters (``_screen``, asked of windows a
batch opens and closes before their rows are held, and ``_plausible``, asked of closed windows
before judging), so a test can check that they only save work: same findings, fewer rows judged
in full."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

from watchhouse.core.events import Dataset
from watchhouse.core.findings import Finding
from watchhouse.detectors.accounts.tumbling import WindowedLoginDetector
from watchhouse.detectors.accounts.window_screen import ClosingGroups
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import make_batch


def with_and_without_prefilter(
    monkeypatch: pytest.MonkeyPatch, detector: type[WindowedLoginDetector], rows: list[dict[str, Any]], size: int
) -> tuple[list[Finding], list[Finding], list[tuple[int, int]], list[tuple[int, int]]]:
    """Findings with the pre-filters, findings judging every row, and per call of ``_plausible``
    and of ``_screen`` the rows it was given and kept (a screen is given the rows its closing
    windows would hold). ``rows`` go in batches of ``size``."""
    batches = [make_batch(Dataset.AUTH, rows[i : i + size]) for i in range(0, len(rows), size)]
    kept: list[tuple[int, int]] = []
    screened: list[tuple[int, int]] = []
    plausible = detector._plausible  # type: ignore[attr-defined]
    screen = detector._screen  # type: ignore[attr-defined]

    def counted(self: WindowedLoginDetector, frame: pl.DataFrame) -> pl.DataFrame:
        out: pl.DataFrame = plausible(self, frame)
        kept.append((frame.height, out.height))
        return out

    def counted_screen(self: WindowedLoginDetector, groups: ClosingGroups) -> npt.NDArray[np.bool_]:
        passed: npt.NDArray[np.bool_] = screen(self, groups)
        given = groups.held & np.repeat(groups.closing, groups.lengths)
        screened.append((int(given.sum()), int((given & np.repeat(passed, groups.lengths)).sum())))
        return passed

    monkeypatch.setattr(detector, "_plausible", counted)
    monkeypatch.setattr(detector, "_screen", counted_screen)
    filtered = run_detector(detector(), batches)
    monkeypatch.setattr(detector, "_plausible", lambda self, frame: frame)
    monkeypatch.setattr(detector, "_screen", lambda self, groups: np.ones(groups.count, dtype=bool))
    everything = run_detector(detector(), batches)
    return filtered, everything, kept, screened
