"""Which successes a burst cites and counts, and how failures are cut into segments.

The detector aggregates the successes of all bursts closed by one batch at once, as runs of rows
per burst; these tests check those runs against the rule stated per burst (cite the decisive
successes, at most :data:`SUCCESS_EVIDENCE_CAP`, else the first one) and the segment tables
against a plain reading of the closing rule.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from watchhouse.core.events import Dataset
from watchhouse.core.findings import EventRef, Finding, Stage
from watchhouse.detectors.accounts.burst_keys import ACCOUNT_KIND, IP_KIND, ROW_SCHEMA
from watchhouse.detectors.accounts.burst_tracker import segmented
from watchhouse.detectors.accounts.failed_login_burst import (
    SUCCESS_EVIDENCE_CAP,
    FailedLoginBurstDetector,
    _Successes,
)
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

PATH = "samples/test.log"


def _event(t: float, outcome: str, ip: str | None, user: str | None) -> dict[str, Any]:
    return {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "source.ip": ip,
        "user.name": user,
        "event.outcome": outcome,
        "service.name": "sshd",
    }


def _by_subject(findings: list[Finding]) -> dict[str, Finding]:
    return {f.subject.value: f for f in findings}


def test_decisive_successes_are_cited_up_to_the_cap_and_others_only_first() -> None:
    """Two addresses guess in the same stretch of time, closed by one batch. The first then logs in
    60 times as an account it guessed (all decisive, 50 cited); the second only logs in as accounts
    it never guessed (none decisive: only the first of them is cited)."""
    rows = [_event(i, "failure", "203.0.113.7", f"u{i:02d}") for i in range(25)]
    rows += [_event(i + 0.5, "failure", "198.51.100.9", f"v{i:02d}") for i in range(25)]
    rows += [_event(100 + i, "success", "203.0.113.7", "u03") for i in range(60)]
    rows += [_event(100.5 + i, "success", "198.51.100.9", f"owner{i}") for i in range(3)]
    findings = _by_subject(run_detector(FailedLoginBurstDetector(), [make_batch(Dataset.AUTH, rows)]))
    guessed, other = findings["203.0.113.7"], findings["198.51.100.9"]

    assert guessed.stage == Stage.COMPLETED and guessed.details["successes"] == 60
    assert guessed.details["success_matches_burst"] is True and guessed.details["success_accounts"] == ["u03"]
    cited = [ref for ref in guessed.evidence if ref.line is not None and ref.line > 50]
    assert cited == [EventRef(PATH, 51 + i) for i in range(SUCCESS_EVIDENCE_CAP)]  # rows 51.. are its successes
    assert guessed.last_seen == BASE_TIME + timedelta(seconds=100 + SUCCESS_EVIDENCE_CAP - 1)

    assert other.details["successes"] == 3 and other.details["success_matches_burst"] is False
    assert other.details["success_accounts"] == ["owner0", "owner1", "owner2"]
    cited = [ref for ref in other.evidence if ref.line is not None and ref.line > 50]
    assert cited == [EventRef(PATH, 111)]  # its first success


def _reference(successes: pl.DataFrame, pairs: pl.DataFrame) -> tuple[dict[int, tuple[Any, ...]], list[int]]:
    """Per burst: (count, decisive count, accounts, sources, last cited time); and the cited seqs."""
    decisive_pairs = set(pairs.iter_rows())
    won: dict[int, tuple[Any, ...]] = {}
    shown: list[int] = []
    for seg in sorted(set(successes["seg"].to_list())):
        rows = successes.filter(pl.col("seg") == seg).to_dicts()
        hits = [(r["seg"], r["user"] if r["kind"] == IP_KIND else r["ip"]) in decisive_pairs for r in rows]
        cited = [r for r, hit in zip(rows, hits, strict=True) if hit][:SUCCESS_EVIDENCE_CAP] if any(hits) else rows[:1]
        shown += [r["seq"] for r in cited]
        accounts = sorted({r["user"] for r in rows if r["user"] is not None})
        sources = sorted({r["ip"] for r in rows if r["ip"] is not None})
        won[seg] = (len(rows), sum(hits), accounts, sources, max(r["ts"] for r in cited))
    return won, shown


def test_success_aggregates_match_the_per_burst_rule() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(1, 300))
        segs = np.sort(rng.integers(1, 12, n))
        kinds = [IP_KIND if s % 2 else ACCOUNT_KIND for s in segs.tolist()]
        frame = pl.DataFrame(
            {
                "seg": segs,
                "kind": kinds,
                "key": [f"k{s}" for s in segs.tolist()],
                "ts": np.arange(n) * 1_000_000,
                "seq": np.arange(n),
                "path": [PATH] * n,
                "line": np.arange(1, n + 1),
                "offset": [None] * n,
                "ip": [None if rng.random() < 0.1 else f"10.0.0.{rng.integers(0, 6)}" for _ in range(n)],
                "user": [None if rng.random() < 0.1 else f"u{rng.integers(0, 6)}" for _ in range(n)],
                "service": ["sshd"] * n,
            },
            schema={"seg": pl.Int64(), **ROW_SCHEMA},
        )
        pairs = pl.DataFrame(
            {
                "seg": rng.integers(1, 12, 40),
                "other": [f"{rng.choice(['u', '10.0.0.'])}{rng.integers(0, 6)}" for _ in range(40)],
            }
        ).unique()
        burst_seg = np.arange(1, 12, dtype=np.int64)
        got = _Successes.of(frame, pairs, burst_seg)
        won, shown = _reference(frame, pairs)
        assert got.shown["seq"].to_list() == shown
        for i, seg in enumerate(burst_seg.tolist()):
            row = got.row(i)
            assert (row is None) == (seg not in won)
            if row is not None:
                assert tuple(row) == won[seg]


def test_only_emitting_and_open_segments_get_a_table() -> None:
    """Closed segments below their threshold are numbers only; the emitting and the open ones
    carry their key, first and last time, size and watermark."""
    minute = 60_000_000
    rows: list[tuple[str, str, int]] = [(IP_KIND, "10.0.0.1", t * minute) for t in range(3)]  # closes, too few
    rows += [(IP_KIND, "10.0.0.2", t * minute // 10) for t in range(20)]  # closes with 20: emits
    rows += [(ACCOUNT_KIND, "sshd\x1froot", 100 * minute + t) for t in range(4)]  # still open
    frame = pl.DataFrame(
        {
            "kind": [r[0] for r in rows],
            "key": [r[1] for r in rows],
            "ts": [r[2] for r in rows],
            "seq": list(range(len(rows))),
            "path": [PATH] * len(rows),
        }
    )
    parts = segmented(frame, 10 * minute, {PATH: 100 * minute}, {IP_KIND: 20, ACCOUNT_KIND: 10})
    assert parts.count == 3 and len(parts.closed) == 2
    assert parts.emit.select("kind", "key", "n", "first", "last", "wm").rows() == [
        (IP_KIND, "10.0.0.2", 20, 0, 19 * minute // 10, 100 * minute)
    ]
    assert parts.open.select("key", "n", "first").rows() == [("sshd\x1froot", 4, 100 * minute)]
    assert set(parts.closed.tolist()) == set(range(1, 4)) - set(parts.open["seg"].to_list())
    ends = segmented(frame, 10 * minute, None, {IP_KIND: 20, ACCOUNT_KIND: 10})  # end of input: all close
    assert len(ends.closed) == 3 and ends.open.height == 0 and ends.emit["key"].to_list() == ["10.0.0.2"]
    assert ends.emit["wm"].to_list() == [None]


def test_rows_of_unknown_file_neither_close_nor_stay_open() -> None:
    frame = pl.DataFrame({"kind": [IP_KIND], "key": ["10.0.0.1"], "ts": [0], "seq": [0], "path": ["other.log"]})
    parts = segmented(frame, 1, {PATH: 10, "third.log": 5}, {IP_KIND: 2, ACCOUNT_KIND: 2})
    assert parts.count == 1 and len(parts.closed) == 0 and parts.open.height == 0 and parts.emit.height == 0
