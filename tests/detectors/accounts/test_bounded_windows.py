"""Bounded window state: the Bloom pre-filter, folding of large (window, key) groups, and capped
evidence. Folding must not change what the judges count, only which lines they cite."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from watchhouse.core.events import Dataset
from watchhouse.detectors.accounts import tumbling
from watchhouse.detectors.accounts.credential_stuffing import (
    EVIDENCE_HEAD,
    EVIDENCE_TAIL,
    CredentialStuffingDetector,
)
from watchhouse.detectors.accounts.sketches import GrowingBloom, hash_keys
from watchhouse.detectors.accounts.tumbling import INPUT_SCHEMA, TumblingWindows
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

from .evidence_reference import head_and_tail

US = 1_000_000
T0 = 1_772_000_000 * US
STUFF_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/108.0.5359.125 Safari/537.36"


def test_bloom_never_forgets_and_rarely_invents() -> None:
    bloom = GrowingBloom(24)
    seen = hash_keys([f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(300_000)])
    for part in np.array_split(seen, 7):
        bloom.add(part)
    assert bloom.contains(seen).all()
    fresh = hash_keys([f"172.16.{i >> 8}.{i & 255}:{i}" for i in range(100_000)])
    assert bloom.contains(fresh).mean() < 0.02
    restored = GrowingBloom.from_json(bloom.to_json())
    assert (restored.contains(fresh) == bloom.contains(fresh)).all() and restored.contains(seen).all()


def _frames(n_batches: int) -> list[pl.DataFrame]:
    """Two fingerprints failing from many addresses over two 600 s windows, a few successes and
    unknown accounts among them, cut into batches; rows arrive slightly out of order."""
    rng = np.random.default_rng(5)
    n = 4_000
    ts = T0 + np.sort(rng.integers(0, 1_200 * US, n)) + rng.integers(-20 * US, 0, n)
    outcome = np.where(rng.random(n) < 0.05, "success", "failure")
    rows = pl.DataFrame(
        {
            "ts": ts,
            "path": "auth.jsonl",
            "line": np.arange(1, n + 1),
            "offset": None,
            "key": np.where(rng.random(n) < 0.7, "kit/1.0", "kit/2.0"),
            "ip": [f"86.0.{i % 7}.{i % 251}" for i in range(n)],
            "user": [f"combo-{i % 1_311}" for i in range(n)],
            "outcome": outcome,
            "reason": np.where(rng.random(n) < 0.3, "unknown_user", "bad_password"),
        },
        schema=INPUT_SCHEMA,
    )
    return [rows.slice(i, -(-n // n_batches)) for i in range(0, n, -(-n // n_batches))]


def _run(folded: bool, frames: list[pl.DataFrame], restart_at: int | None = None) -> pl.DataFrame:
    windows = _windows(folded)
    out: list[pl.DataFrame] = []
    for i, frame in enumerate(frames):
        if i == restart_at:
            state = windows.to_json()
            windows = _windows(folded)
            windows.load_json(state)
        out += windows.update(frame)
    out += windows.flush()
    return pl.concat(out)


def _windows(folded: bool) -> TumblingWindows:
    """Stuffing-like windows; folded ones keep the first 3 and last 2 failures of a group whole."""
    if not folded:
        return TumblingWindows(window=600 * US, lateness=60 * US, promote_at=3, horizon=600 * US)
    return TumblingWindows(
        window=600 * US, lateness=60 * US, promote_at=3, horizon=600 * US, fold_head=3, fold_tail=2, fold_min_rows=50
    )


def _stats(rows: pl.DataFrame) -> pl.DataFrame:
    fail = pl.col("outcome") == "failure"
    return (
        rows.group_by("win", "key")
        .agg(
            failures=fail.sum(),
            sources=pl.col("ip").filter(fail).n_unique(),
            accounts=pl.col("user").filter(fail).n_unique(),
            unknown=(fail & (pl.col("reason") == "unknown_user")).sum(),
            successes=(~fail).sum(),
            first=pl.col("ts").min(),
            last=pl.col("ts").max(),
        )
        .sort("win", "key")
    )


def test_folding_keeps_every_count_and_only_the_first_and_last_references() -> None:
    whole = _run(False, _frames(9))
    folded = _run(True, _frames(9))
    assert whole.height == folded.height and folded["seq"].null_count() > 0
    assert _stats(whole).equals(_stats(folded))
    fails = whole.filter(pl.col("outcome") == "failure").sort("win", "key", "ts", "seq")
    place = pl.int_range(pl.len()).over("win", "key")
    expected = fails.filter((place < 3) | (place >= pl.len().over("win", "key") - 2))
    cited = folded.filter(pl.col("seq").is_not_null() & (pl.col("outcome") == "failure"))
    # later batches may leave a few more whole rows than the cap; the first and last always stay
    assert set(expected["seq"].to_list()) <= set(cited["seq"].to_list())
    assert cited.height < fails.height // 4


def test_judges_get_large_windows_in_parts_with_each_key_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _stats(_run(True, _frames(9)))
    monkeypatch.setattr(tumbling, "PART_ROWS", 300)
    windows = _windows(True)
    parts = [part for frame in _frames(9) for part in windows.update(frame)] + list(windows.flush())
    assert len(parts) > 3 and all(p["win"].n_unique() == 1 for p in parts)
    keys = [(p["win"][0], key) for p in parts for key in p["key"].unique().to_list()]
    assert len(keys) == len(set(keys))  # no (window, key) is split between parts
    assert _stats(pl.concat(parts)).equals(reference)


def test_folded_state_survives_a_restart_and_other_batching() -> None:
    reference = _stats(_run(True, _frames(9)))
    again = _run(True, _frames(23), restart_at=11)
    assert _stats(again).equals(reference)


def test_stuffing_evidence_is_capped_and_says_what_it_stands_for() -> None:
    # 120 addresses failing 3 accounts each with one kit, 360 failures within one 600 s window
    rows = [
        {
            "@timestamp": BASE_TIME + timedelta(seconds=s * 3 + k),
            "source.ip": f"86.0.0.{s}",
            "user.name": f"combo-{s * 3 + k:05d}",
            "event.outcome": "failure",
            "event.action": "login",
            "service.name": "web",
            "user_agent.original": STUFF_UA,
        }
        for s in range(120)
        for k in range(3)
    ]
    (finding,) = run_detector(CredentialStuffingDetector(), [make_batch(Dataset.AUTH, rows)])
    assert finding.details["failures"] == 360 and finding.details["distinct_sources"] == 120
    lines = [ref.line for ref in finding.evidence]
    assert len(lines) == EVIDENCE_HEAD + EVIDENCE_TAIL and finding.details["evidence_truncated"] is True
    assert lines[:3] == [1, 2, 3] and lines[-1] == 360
    assert f"lists {EVIDENCE_HEAD + EVIDENCE_TAIL} of the 360 failed logins" in finding.explanation
    assert finding.subject.value == STUFF_UA


def test_crowded_windows_cite_fewer_lines_the_same_whatever_the_batching() -> None:
    def run(frames: list[pl.DataFrame], restart_at: int | None = None) -> pl.DataFrame:
        def make() -> TumblingWindows:
            return TumblingWindows(
                window=600 * US,
                lateness=60 * US,
                promote_at=3,
                horizon=600 * US,
                fold_head=30,
                fold_tail=20,
                fold_min_rows=50,
                fold_budget=40,  # two keys per window: 40 / (2 x 50) scales the sides to 0.4
            )

        windows = make()
        out: list[pl.DataFrame] = []
        for i, frame in enumerate(frames):
            if i == restart_at:
                state = windows.to_json()
                windows = make()
                windows.load_json(state)
            out += windows.update(frame)
        out += windows.flush()
        rows = pl.concat(out)
        fails = rows.filter(pl.col("outcome") == "failure")
        return head_and_tail(fails, ["win", "key"], pl.col("evidence_head"), pl.col("evidence_tail"))

    cited = run(_frames(9))
    assert cited["evidence_head"].unique().to_list() == [12]  # 0.4 x 30
    assert cited["evidence_tail"].unique().to_list() == [10]  # 0.4 x 20 = 8, raised to the floor of 10
    sizes = cited.group_by("win", "key").len()["len"].to_list()
    assert len(sizes) >= 4 and set(sizes) == {22}
    again = run(_frames(23), restart_at=11)
    assert sorted(again["line"].to_list()) == sorted(cited["line"].to_list())
