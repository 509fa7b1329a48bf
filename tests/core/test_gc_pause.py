"""The collector pause restores what it found, so a caller's own pause survives a nested one."""

from __future__ import annotations

import gc

import pytest

from watchhouse.core.gc_pause import paused_gc


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
