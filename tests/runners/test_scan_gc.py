"""The scan's garbage-collector settings are temporary: restored after the scan, even on error."""

from __future__ import annotations

import gc

import pytest

from watchhouse.runners.embedded import scan_gc


def test_thresholds_and_frozen_heap_are_restored_after_a_scan() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with scan_gc(threshold=12_345):
        assert gc.get_threshold()[0] == 12_345
        assert gc.get_freeze_count() >= frozen_before
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_settings_are_restored_when_the_scan_fails() -> None:
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError, match="detector crashed"), scan_gc(threshold=54_321):
        raise RuntimeError("detector crashed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_cycles_made_during_the_scan_are_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.other: Node | None = None

    with scan_gc():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2
