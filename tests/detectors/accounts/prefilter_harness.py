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
from watchhouse.detectors.accounts.window_screen import ClosingGroups
from watchhouse.detectors.accounts.windowed_detector import WindowedLoginDetector
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


def assert_only_work_saved(
    filtered: list[Finding],
    everything: list[Finding],
    kept: list[tuple[int, int]],
    screened: list[tuple[int, int]],
    *,
    judged: int,
    turned_down: int,
    screened_out: int | None,
) -> None:
    """What :func:`with_and_without_prefilter` returned shows the pre-filters saved work only:
    the same findings word for word, exactly ``judged`` rows judged in full, more than
    ``turned_down`` turned down by one pre-filter or the other (before judging, or, for windows a
    batch opens and closes, before being held at all), of which more than ``screened_out`` by the
    screen; ``screened_out=None`` when no window opens and closes within one batch (small batches),
    so nothing may have been screened."""
    assert [(f.explanation, f.details, f.severity, f.confidence) for f in filtered] == [
        (f.explanation, f.details, f.severity, f.confidence) for f in everything
    ]
    assert sum(after for _, after in kept) == judged
    dropped = sum(given - passed for given, passed in screened)
    assert sum(before for before, _ in kept) + dropped > turned_down
    if screened_out is None:
        assert not screened
    else:
        assert dropped > screened_out
