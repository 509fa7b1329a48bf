"""Account detectors cite rows as EventRefs built in bulk (detectors/accounts/reporting.py).

The bulk helpers must cite exactly the rows, in exactly the order, that building one reference
per row would: stream order (``ts``, then ``seq``) within each finding, the first ``cap`` rows
when capped. The rows here are failed sshd logins as the reader hands them to detectors: two
rotated files read by line, and a journal stream cited by byte offset.
"""

from __future__ import annotations

import random
from typing import Any

import polars as pl
from tests.detectors.accounts.evidence_reference import grouped_evidence

from watchhouse.core.findings import EventRef
from watchhouse.detectors.accounts.reporting import event_refs, evidence


def _failures(n: int, seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for seq in range(n):
        source = rng.choice(["auth.log.1", "auth.log", "journal"])
        by_offset = source == "journal"
        rows.append(
            {
                "win": rng.randrange(3),
                "key": rng.choice(["203.0.113.9", "198.51.100.4", "192.0.2.77"]),
                # several rows share an instant: seq alone then decides their order
                "ts": 1_772_409_600_000_000 + rng.randrange(40) * 1_000_000,
                "seq": seq,
                "path": source,
                "line": None if by_offset else 1 + rng.randrange(100_000),
                "offset": rng.randrange(1 << 40) if by_offset else None,
                "user": rng.choice(["root", "admin", "oracle"]),
            }
        )
    return pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=seed)  # rows arrive unordered


def _one_by_one(rows: pl.DataFrame) -> list[EventRef]:
    ordered = rows.sort("ts", "seq")
    return [EventRef(path=p, line=ln, offset=o) for p, ln, o in ordered.select("path", "line", "offset").iter_rows()]


def test_event_refs_cite_every_row_in_row_order() -> None:
    rows = _failures(500, seed=1)
    refs = event_refs(rows)
    assert refs == [EventRef(p, ln, o) for p, ln, o in rows.select("path", "line", "offset").iter_rows()]
    # one str object per file, however many rows cite it
    assert len({id(ref.path) for ref in refs}) == rows.get_column("path").n_unique()
    assert event_refs(rows.clear()) == []


def test_event_refs_of_one_file_read_by_line_share_its_path() -> None:
    rows = _failures(300, seed=2).filter(pl.col("path") == "auth.log")
    refs = event_refs(rows)
    assert [ref.line for ref in refs] == rows.get_column("line").to_list()
    assert all(ref.offset is None for ref in refs)
    assert all(ref.path is refs[0].path for ref in refs)


def test_evidence_is_in_stream_order_and_capped() -> None:
    rows = _failures(400, seed=3)
    expected = _one_by_one(rows)
    assert list(evidence(rows)) == expected
    assert list(evidence(rows, cap=25)) == expected[:25]
    assert evidence(rows, cap=0) == ()


def test_grouped_evidence_matches_citing_each_group_alone() -> None:
    rows = _failures(2_000, seed=4)
    for cap in (None, 1, 7, 10_000):
        grouped = grouped_evidence(rows, ["win", "key"], cap)
        groups = rows.group_by("win", "key").agg().sort("win", "key").iter_rows()
        assert sorted(grouped) == list(groups)
        for (win, key), refs in grouped.items():
            alone = _one_by_one(rows.filter((pl.col("win") == win) & (pl.col("key") == key)))
            assert list(refs) == (alone if cap is None else alone[:cap]), (win, key, cap)


def test_grouped_evidence_keeps_rows_without_a_key_as_one_group() -> None:
    # failures whose account sshd never named ("Disconnecting: Too many authentication failures")
    rows = _failures(600, seed=5).with_columns(
        user=pl.when(pl.col("seq") % 4 == 0).then(None).otherwise(pl.col("user"))
    )
    grouped = grouped_evidence(rows, ["key", "user"])
    assert sum(len(refs) for refs in grouped.values()) == rows.height
    for (key, user), refs in grouped.items():
        same_user = pl.col("user").is_null() if user is None else pl.col("user") == user
        assert list(refs) == _one_by_one(rows.filter((pl.col("key") == key) & same_user)), (key, user)
    assert any(user is None for _, user in grouped)
    assert grouped_evidence(rows.clear(), ["key", "user"]) == {}
