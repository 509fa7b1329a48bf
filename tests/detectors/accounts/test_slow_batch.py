"""How ``accounts.slow_brute_force`` reads a batch: which rows it keeps, how it groups them by
address, which rows of a busy address reach the run rule, and how carried failures are read back.

Why directed cases next to the property test: the property test checks findings against the
rule's oracle, but a row dropped or kept by mistake only shows there when a random stream happens
to need it. These cases pin each shortcut on a stream where getting it wrong changes the answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from watchhouse.core.events import Dataset
from watchhouse.detectors.accounts.sketches import hash_keys
from watchhouse.detectors.accounts.slow_batch import BatchRows, address_order, columns, stitch
from watchhouse.detectors.accounts.slow_brute_force import SlowBruteForceDetector
from watchhouse.detectors.accounts.slow_sightings import FAILURE_SCHEMA, NONE, Sightings
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

MINUTE = 60.0
ATTACKER = "203.0.113.9"


def event(t: float, outcome: str | None = "failure", ip: str | None = ATTACKER, user: str = "root") -> dict[str, Any]:
    return {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "source.ip": ip,
        "user.name": user,
        "event.outcome": outcome,
        "service.name": "sshd",
    }


def test_rows_that_are_not_a_login_outcome_or_lack_an_address_are_dropped() -> None:
    rows = [
        event(0),
        event(1, "unknown"),
        event(2, None),
        event(3, ip=None),
        event(4, "success", user="alice"),
        event(5, user="admin"),
    ]
    kept = BatchRows(make_batch(Dataset.AUTH, rows).to_polars(), Sightings(10))
    assert kept.height == 3
    assert kept.fail.tolist() == [True, False, True]
    failures = kept.failures(np.array([2, 0]))
    assert failures.schema == FAILURE_SCHEMA
    assert failures["user"].to_list() == ["admin", "root"] and failures["line"].to_list() == [6, 1]
    expected = (hash_keys(pl.Series(["admin", "root"])) >> np.uint64(32)).astype(np.uint32)
    assert failures["account"].to_list() == expected.tolist()


def test_junk_rows_between_paced_failures_change_nothing() -> None:
    """Rows the detector drops must not end a run the way a success does."""
    users = ["root", "admin", "oracle", "mysql"]
    paced = [event(i * 10 * MINUTE, user=users[i]) for i in range(4)]
    junk = [event(i * 10 * MINUTE + 5, outcome) for i, outcome in enumerate(["unknown", None, "unknown"])]
    stream = sorted([*paced, *junk], key=lambda r: r["@timestamp"])
    found = run_detector(SlowBruteForceDetector(), [make_batch(Dataset.AUTH, stream)])
    assert [(f.subject.value, f.details["failures"]) for f in found] == [(ATTACKER, 4)]


def test_addresses_sharing_the_packed_bits_but_not_the_hash_are_sorted_exactly() -> None:
    """The packed sort keeps only the top bits of the hash: two addresses whose hashes differ in
    the low bits alone land side by side, interleaved, and must be sorted apart."""
    h = np.array([1, 2, 1, 2, 2], dtype=np.uint64)
    check = np.full(5, 9, dtype=np.uint64)
    order, starts = address_order(h, check)
    assert sorted(g.tolist() for g in np.split(order, starts[1:])) == [[0, 2], [1, 3, 4]]


def test_successes_reach_the_rule_only_where_they_end_a_run() -> None:
    """Of successive successes only the first counts; a success before an address's first failure
    counts only when the address carries something from an earlier batch."""
    a, b = "198.51.100.7", "192.0.2.1"
    rows = [
        event(0, "success", a),  # a's leading success, a carries nothing: dropped
        event(1, "failure", a),
        event(2, "success", a),  # ends a's run
        event(3, "success", a),  # changes nothing more
        event(4, "failure", a),
        event(5, "success", b),  # b's leading success, b carries a run: kept
        event(6, "success", b),
        event(7, "failure", b),
    ]
    detector = SlowBruteForceDetector()
    batch = BatchRows(make_batch(Dataset.AUTH, rows).to_polars(), detector.sightings)
    grouped_fail = batch.fail[batch.order]
    first_of = {batch.frame["ip"][int(batch.order[s])]: k for k, s in enumerate(batch.starts)}
    carrying = np.zeros(batch.starts.size, dtype=bool)
    carrying[first_of[b]] = True
    busy = np.ones(batch.starts.size, dtype=bool)
    at, group = SlowBruteForceDetector._busy_rows(batch, busy, grouped_fail, carrying)
    by_address = {batch.frame["ip"][int(at[group == g][0])]: at[group == g].tolist() for g in np.unique(group)}
    assert by_address == {a: [1, 2, 4], b: [5, 7]}


def test_a_success_opening_the_next_batch_ends_the_carried_run() -> None:
    """Three paced failures, then (next batch) successes and a fourth paced failure: the run was
    ended, so nothing qualifies; without the successes the fourth failure completes the run."""
    users = ["root", "admin", "oracle", "mysql"]
    first = [event(i * 10 * MINUTE, user=users[i]) for i in range(3)]
    ended = [event(29 * MINUTE, "success"), event(29 * MINUTE + 1, "success"), event(30 * MINUTE, user="mysql")]
    batches = [make_batch(Dataset.AUTH, first), make_batch(Dataset.AUTH, ended, first_line=4)]
    assert run_detector(SlowBruteForceDetector(), batches) == []
    go_on = [make_batch(Dataset.AUTH, first), make_batch(Dataset.AUTH, ended[2:], first_line=6)]
    found = run_detector(SlowBruteForceDetector(), go_on)
    assert [(f.details["failures"], f.details["distinct_accounts"]) for f in found] == [(4, 4)]


def test_stitch_reads_each_source_once_and_keeps_the_order_asked() -> None:
    calls: list[tuple[str, list[int]]] = []

    def source(name: str, base: int) -> Any:
        def read(at: np.ndarray) -> pl.DataFrame:
            calls.append((name, at.tolist()))
            return pl.DataFrame({"v": (at + base).tolist()}, schema={"v": pl.Int64})

        return read

    got = stitch(np.array([5, 1, 7, 0]), 4, source("low", 0), source("high", 100))
    assert got["v"].to_list() == [101, 1, 103, 0]
    assert calls == [("low", [1, 0]), ("high", [1, 3])]
    calls.clear()
    assert stitch(np.array([2, 3]), 4, source("low", 0), source("high", 100))["v"].to_list() == [2, 3]
    assert calls == [("low", [2, 3])]


def test_single_failures_read_back_from_the_table_as_rows() -> None:
    """The table keeps a failure as numbers (path code, NONE for a missing line); reading it back
    must give the failure's file, its line or a null, and no account name."""
    table = Sightings(10)
    codes = np.array([table.path_code("/var/log/auth.log"), table.path_code("/var/log/secure")], dtype=np.int32)
    slots = np.array([3, 9])
    table.write(
        slots,
        np.array([11, 12], dtype=np.uint32),
        np.array([7, 8], dtype=np.uint32),
        codes,
        np.array([1_000, 2_000]),
        np.array([NONE, 42]),
        np.array([10, 20]),
    )
    rows = table.rows(np.array([9, 3, 9]))
    assert rows.schema == FAILURE_SCHEMA
    assert rows["path"].to_list() == ["/var/log/secure", "/var/log/auth.log", "/var/log/secure"]
    assert rows["line"].to_list() == [42, None, 42] and rows["offset"].to_list() == [20, 10, 20]
    assert rows["user"].to_list() == [None, None, None] and rows["account"].to_list() == [8, 7, 8]
    one_file = Sightings(10)
    one_file.write(
        slots[:1],
        np.array([5], dtype=np.uint32),
        np.array([1], dtype=np.uint32),
        np.array([one_file.path_code("/var/log/auth.log")], dtype=np.int32),
        np.array([5]),
        np.array([6]),
        np.array([NONE]),
    )
    read = one_file.rows(np.array([3, 3]))
    assert read["path"].to_list() == ["/var/log/auth.log"] * 2 and read["offset"].to_list() == [None, None]
    assert one_file.rows(np.zeros(0, dtype=np.int64)).schema == FAILURE_SCHEMA


def test_columns_are_taken_as_they_are() -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None], "c": [0.5, 1.5]})
    picked = columns(frame, ("c", "a"))
    assert picked.columns == ["c", "a"] and picked.equals(frame.select("c", "a"))
