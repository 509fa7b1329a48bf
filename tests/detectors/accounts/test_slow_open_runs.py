"""The slow brute force detector's open runs (``slow_runs.OpenRuns``) and table of single failures
(``slow_sightings.Sightings``): what they keep, what they give back and what they drop.

Why directed cases next to the property test: the property test drives a few addresses whose
runs never hit ``max_runs`` nor wait long enough to expire, and never clash in hash; these cases
pin the queue order (least recently extended first), the expiry that stops at the first live
run, and matching by text when two addresses share a hash.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from watchhouse.detectors.accounts.slow_runs import OpenRuns, PaceRule, pace, spans
from watchhouse.detectors.accounts.slow_sightings import FAILURE_SCHEMA, NONE, Sightings

MINUTE = 60_000_000


def failures(times: list[int], path: str = "auth.log") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts": times,
            "account": [7] * len(times),
            "user": ["root"] * len(times),
            "path": [path] * len(times),
            "line": list(range(1, len(times) + 1)),
            "offset": [None] * len(times),
        },
        schema=FAILURE_SCHEMA,
    )


def add_runs(runs: OpenRuns, ips: list[str], hashes: list[int], times: list[list[int]]) -> None:
    """One run per address, in the order given (the first is the least recently extended)."""
    rows = pl.concat([failures(t) for t in times])
    run_of = np.repeat(np.arange(len(ips)), [len(t) for t in times])
    h = np.array(hashes, dtype=np.uint64)[run_of]
    ip = pl.Series([ips[k] for k in run_of], dtype=pl.String)
    runs.add(rows, h, ip, np.zeros(rows.height, dtype=bool), run_of)


def test_the_cap_drops_the_least_recently_extended_runs() -> None:
    runs = OpenRuns()
    add_runs(runs, ["a", "b", "c"], [1, 2, 3], [[0, MINUTE], [0, MINUTE, 2 * MINUTE], [5, 6]])
    taken, owner = runs.take(np.array([1], dtype=np.uint64), pl.Series(["a"]))  # "a" is extended ...
    assert taken["ts"].to_list() == [0, MINUTE] and owner.tolist() == [0, 0]
    add_runs(runs, ["a"], [1], [[0, MINUTE, 2 * MINUTE]])  # ... and now the newest
    runs.cap(2)
    assert len(runs) == 2 and runs.frame["ip"].unique(maintain_order=True).to_list() == ["c", "a"]


def test_expiry_drops_from_the_oldest_and_stops_at_the_first_live_run() -> None:
    runs = OpenRuns()
    # "b" is old but queued behind "a", which is still live: neither goes
    add_runs(runs, ["a", "b", "c"], [1, 2, 3], [[100 * MINUTE], [10 * MINUTE], [11 * MINUTE]])
    runs.expire(61 * MINUTE, {"auth.log": 150 * MINUTE})
    assert len(runs) == 3
    runs.expire(61 * MINUTE, {"auth.log": 200 * MINUTE})  # "a" is now too old as well: all go
    assert len(runs) == 0
    # a run whose file has no newest time yet is kept
    add_runs(runs, ["d"], [4], [[0]])
    runs.expire(MINUTE, {"other.log": 500 * MINUTE, "x.log": 0})
    assert len(runs) == 1


def test_runs_are_matched_by_text_when_addresses_share_a_hash() -> None:
    runs = OpenRuns()
    add_runs(runs, ["198.51.100.7", "203.0.113.9"], [42, 42], [[0, MINUTE], [0, 2 * MINUTE]])
    taken, owner = runs.take(np.array([42], dtype=np.uint64), pl.Series(["203.0.113.9"]))
    assert taken["ip"].to_list() == ["203.0.113.9"] * 2 and taken["ts"].to_list() == [0, 2 * MINUTE]
    assert owner.tolist() == [0, 0] and runs.frame["ip"].to_list() == ["198.51.100.7"] * 2
    # two addresses of one batch with one hash: still told apart by text
    taken, owner = runs.take(np.array([42, 42], dtype=np.uint64), pl.Series(["10.0.0.1", "198.51.100.7"]))
    assert owner.tolist() == [1, 1] and len(runs) == 0


def test_open_runs_survive_json() -> None:
    runs = OpenRuns()
    add_runs(runs, ["a", "b"], [1, 2], [[0, MINUTE], [3, 4, 5]])
    again = OpenRuns()
    again.load_json(json.loads(json.dumps(runs.to_json())))
    assert again.frame.equals(runs.frame) and again.next_rank == runs.next_rank == 2


def test_the_table_keeps_one_failure_per_slot_and_gives_failures_back() -> None:
    table = Sightings(10)
    assert table.nbytes == (1 << 10) * 36
    slot = np.array([3, 900], dtype=np.int64)
    code = table.path_code("auth.log")
    table.write(
        slot,
        np.array([5, 6], dtype=np.uint32),
        np.array([11, 12], dtype=np.uint32),
        np.array([code, code], dtype=np.int32),
        np.array([100, 200], dtype=np.int64),
        np.array([7, NONE], dtype=np.int64),
        np.array([NONE, 4096], dtype=np.int64),
    )
    rows = table.rows(slot)
    assert rows.schema == FAILURE_SCHEMA
    assert rows.rows() == [(100, 11, None, "auth.log", 7, None), (200, 12, None, "auth.log", None, 4096)]
    assert table.fp[3] == 5 and table.ts[900] == 200 and table.fp[4] == 0


def test_pace_marks_runs_links_and_the_first_qualifying_failure() -> None:
    """One address: four failures ten minutes apart against two accounts, a success, then two."""
    rule = PaceRule(MINUTE, 60 * MINUTE, 1.5, 4, 8)
    ts = np.array([0, 10, 20, 30, 31, 40, 50], dtype=np.int64) * MINUTE
    fail = np.array([True, True, True, True, False, True, True])
    account = np.array([1, 2, 1, 2, 1, 1, 1], dtype=np.int64)
    first = np.zeros(7, dtype=bool)
    first[0] = True
    paced = pace(rule, ts, fail, account, first, np.zeros(7, dtype=bool))
    assert paced.anchor[[0, 1, 2, 3, 5, 6]].tolist() == [0, 0, 0, 0, 5, 5]
    assert paced.links[[3, 6]].tolist() == [3, 1]
    assert paced.first_qualifying().tolist() == [3]
    # the same rows with the run reported in an earlier batch: nothing qualifies again
    reported = np.zeros(7, dtype=bool)
    reported[0] = True
    assert pace(rule, ts, fail, account, first, reported).first_qualifying().tolist() == []


def test_spans_lists_every_position_of_every_span() -> None:
    assert spans(np.array([2, 7, 9]), np.array([4, 7, 10])).tolist() == [2, 3, 4, 7, 9, 10]
    assert spans(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)).tolist() == []
