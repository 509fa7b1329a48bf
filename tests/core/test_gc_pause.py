"""The collector pause restores what it found, so a caller's own pause survives a nested one; a batch
pause freezes what outlives the batch, and a cycle it froze is still collected in time."""

from __future__ import annotations

import gc
import weakref

import pytest

from watchhouse.core.gc_pause import BatchPauses, paused_gc


def test_pause_restores_the_collector_even_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_callers_own_pause_is_kept() -> None:
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    """A reference cycle no one holds, and a weak reference that says when it is collected."""
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_what_outlives_a_batch_is_frozen_and_the_collector_is_back_on() -> None:
    gc.freeze()  # as a scan does before its first batch (scan_gc)
    pauses = BatchPauses()
    frozen_before = gc.get_freeze_count()
    try:
        with pauses.batch():
            assert not gc.isenabled()
            kept = [[i] for i in range(1_000)]  # containers a detector's memory would keep
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen_before + len(kept)
        assert pauses.full_collections == 0
    finally:
        gc.unfreeze()


def test_a_failing_batch_restores_the_collector_and_a_callers_pause_is_kept() -> None:
    gc.freeze()
    pauses = BatchPauses()
    try:
        with pytest.raises(RuntimeError, match="detector down"), pauses.batch():
            raise RuntimeError("detector down")
        assert gc.isenabled()
        gc.disable()
        frozen = gc.get_freeze_count()
        with pauses.batch():
            pass
        assert not gc.isenabled()
        assert gc.get_freeze_count() == frozen  # paused by the caller: nothing is frozen either
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_cycle_frozen_by_a_batch_is_collected_once_the_frozen_heap_grew_past_the_limit() -> None:
    gc.freeze()
    pauses = BatchPauses(growth_limit=10_000)
    try:
        with pauses.batch():
            first = _cycle()
        gc.collect()
        assert first() is not None  # frozen: no collection looks at it
        with pauses.batch():
            kept = [[i] for i in range(20_000)]  # the frozen heap grows past the limit
        assert pauses.full_collections == 1
        assert first() is None
        assert len(kept) == 20_000
    finally:
        gc.unfreeze()


def test_batches_each_under_the_limit_add_up_to_a_full_look() -> None:
    gc.freeze()
    pauses = BatchPauses(growth_limit=10_000)
    kept: list[list[list[int]]] = []
    try:
        for _ in range(2):
            with pauses.batch():
                kept.append([[i] for i in range(4_000)])
        assert pauses.full_collections == 0
        with pauses.batch():
            kept.append([[i] for i in range(4_000)])
        assert pauses.full_collections == 1
    finally:
        gc.unfreeze()
