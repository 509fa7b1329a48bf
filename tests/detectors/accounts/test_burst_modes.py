"""The burst tracker's two ways of holding failures give the same findings.

Up to ``exact_limit`` keyed rows, every failure is tracked exactly; beyond it, the failures of
keys that are not warm yet wait in the pending buffer (counted in sketches) until they could
matter. Random auth streams (those of the property tests) are run with the buffer always used
(limit 0), never used (the default, on streams this small), and switched on and off as the held
rows cross a small limit, in random batches and restarted from a checkpoint: every run must give
the findings of the plain run, which the brute-force oracle checks in turn.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.core.events import Dataset
from watchhouse.detectors.accounts import burst_tracker
from watchhouse.detectors.accounts.burst_tracker import EXACT_LIMIT, BurstTracker
from watchhouse.detectors.accounts.failed_login_burst import FailedLoginBurstDetector
from watchhouse.detectors.accounts.sketches import hash_keys
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch, split_batch

from .test_failed_login_burst_properties import (
    OPTIONS,
    SLOW_OPTIONS,
    as_oracle,
    oracle,
    signature,
    streams,
)


def limited(limit: int, options: dict[str, Any]) -> FailedLoginBurstDetector:
    """A burst detector whose tracker (also after a restore) holds at most ``limit`` keyed rows exactly."""

    class Limited(FailedLoginBurstDetector):
        def _new_tracker(self) -> BurstTracker:
            tracker = super()._new_tracker()
            tracker.exact_limit = limit
            return tracker

    return Limited(**options)


@settings(max_examples=80, deadline=None)
@given(
    rows=streams(),
    limit=st.sampled_from([0, 3, 8, 20]),
    size=st.integers(1, 12),
    cut=st.floats(0, 1),
    slow=st.booleans(),
)
def test_findings_do_not_depend_on_how_failures_are_held(
    rows: list[dict[str, Any]], limit: int, size: int, cut: float, slow: bool
) -> None:
    options = SLOW_OPTIONS if slow else OPTIONS
    whole = make_batch(Dataset.AUTH, rows)
    expected = run_detector(FailedLoginBurstDetector(**options), [whole])
    assert as_oracle(expected) == oracle(rows, options)
    assert signature(run_detector(limited(limit, options), split_batch(whole, size))) == signature(expected)
    at = int(cut * whole.num_rows)
    first = limited(limit, options)
    before = first.detect(whole.slice(0, at))
    resumed = limited(limit, options)
    resumed.restore(json.loads(json.dumps(first.checkpoint())))
    assert signature(before + run_detector(resumed, [whole.slice(at)])) == signature(expected)


def _one_off_failures(n: int, start_s: int = 0) -> list[dict[str, Any]]:
    """``n`` failed logins a second apart, each from its own address for its own account."""
    return [
        {
            "@timestamp": BASE_TIME + timedelta(seconds=start_s + i),
            "source.ip": f"198.51.100.{i % 250}",
            "user.name": f"p-{start_s + i}",
            "service.name": "web",
            "event.outcome": "failure",
        }
        for i in range(n)
    ]


def test_failures_wait_only_beyond_the_exact_limit() -> None:
    """The default holds a quiet stream's failures exactly; a limit of 0 makes them wait, and a
    tracker whose waiting rows all expired tracks exactly again (the modes are really switched)."""
    rows = _one_off_failures(200)
    exact = FailedLoginBurstDetector(**OPTIONS)
    waiting = limited(0, OPTIONS)
    for detector in (exact, waiting):
        assert detector.detect(make_batch(Dataset.AUTH, rows, path="a.log")) == []
    assert 2 * len(rows) <= EXACT_LIMIT
    assert exact._tracker.pending.height == 0 and exact._tracker.failures.height > 0
    assert waiting._tracker.pending.height > 0 and waiting._tracker.failures.height == 0
    switching = limited(300, OPTIONS)  # 200 events keyed twice: over the limit, so they wait
    assert switching.detect(make_batch(Dataset.AUTH, rows, path="a.log")) == []
    assert switching._tracker.pending.height > 0
    # an hour later the waiting ones have expired; the next few are held exactly again
    later = make_batch(Dataset.AUTH, _one_off_failures(20, start_s=3600), path="a.log", first_line=201)
    assert switching.detect(later) == []
    assert switching._tracker.pending.height == 0
    assert switching.detect(make_batch(Dataset.AUTH, _one_off_failures(5, 3700), path="a.log", first_line=221)) == []
    assert switching._tracker.failures.height > 0 and switching._tracker.pending.height == 0


def _mixed_stream(seed: int) -> list[dict[str, Any]]:
    """Two hours of logins: three guessing addresses, accounts failing now and then, successes."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(600):
        guessing = rng.random() < 0.5
        rows.append(
            {
                "@timestamp": BASE_TIME + timedelta(seconds=12 * i + int(rng.integers(0, 5))),
                "source.ip": f"203.0.113.{rng.integers(1, 4)}" if guessing else f"198.51.100.{rng.integers(1, 60)}",
                "user.name": f"p-{rng.integers(0, 8 if guessing else 40)}",
                "service.name": str(rng.choice(["web", "sshd"])),
                "event.outcome": "failure" if guessing or rng.random() < 0.2 else "success",
            }
        )
    return rows


def _low_bits_only(keys: Any) -> Any:
    """Hashes that differ only in their lowest byte: every key shares the top bits the rows are
    sorted by, so the keys' rows interleave and the sort must notice."""
    return hash_keys(keys) & np.uint64(0xFF)


@pytest.mark.parametrize(
    "fake_hash", [lambda keys: np.zeros(len(keys), dtype=np.uint64), _low_bits_only], ids=["all-alike", "low-bits"]
)
def test_keys_sharing_a_hash_are_told_apart_by_their_text(monkeypatch: pytest.MonkeyPatch, fake_hash: Any) -> None:
    """Rows are grouped by key hash; were keys to hash alike (in full, or in the top bits the
    sort uses), the text must decide, and the findings stay those of distinct hashes."""
    options = {**OPTIONS, "window_seconds": 600, "allowed_lateness_seconds": 60, "ip_threshold": 20}
    for seed in range(3):
        batch = make_batch(Dataset.AUTH, _mixed_stream(seed))
        expected = run_detector(FailedLoginBurstDetector(**options), split_batch(batch, 97))
        assert expected  # the stream has bursts to find
        with monkeypatch.context() as patched:
            patched.setattr(burst_tracker, "hash_keys", fake_hash)
            got = run_detector(FailedLoginBurstDetector(**options), split_batch(batch, 97))
        assert signature(got) == signature(expected)
