"""Property tests: ``accounts.slow_brute_force`` finds the runs its rule defines, however input is cut.

The detector finds runs with array operations over whole batches and replays only the runs that
qualify or stay open. Random streams (a few addresses, gaps from seconds to over an hour, some
irregular, successes in between, out-of-order lines) are run whole, in random batch sizes and
across a JSON checkpoint; every run must give the findings of a small row-by-row oracle written
straight from the documented rule.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
from hypothesis import example, given, settings
from hypothesis import strategies as st

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding
from watchhouse.detectors.accounts.sketches import hash_keys
from watchhouse.detectors.accounts.slow_batch import CHECK_SEED, address_order
from watchhouse.detectors.accounts.slow_brute_force import SlowBruteForceDetector
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch, split_batch

MIN_GAP, MAX_GAP, RATIO, MIN_ATTEMPTS, SINGLE = 60_000_000, 3_600_000_000, 1.5, 4, 8  # gaps in microseconds
US = timedelta(microseconds=1)
ADDRESSES = ["203.0.113.9", "198.51.100.7", "192.0.2.1"]
ACCOUNTS = ["root", "admin", "oracle"]


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rows in stream order; times mostly rise, now and then a line is older than the one before."""
    n = draw(st.integers(0, 60))
    clock = 0.0
    rows = []
    for _ in range(n):
        # paced-looking gaps are common so that runs form, break and qualify
        step = draw(st.sampled_from([0.5, 20.0, 300.0, 330.0, 400.0, 600.0, 2000.0, 5000.0]))
        clock += step / len(ADDRESSES)
        t = clock - draw(st.sampled_from([0.0, 0.0, 0.0, 0.0, 200.0]))
        rows.append(
            {
                "@timestamp": BASE_TIME + timedelta(seconds=t),
                "source.ip": draw(st.sampled_from(ADDRESSES)),
                "user.name": draw(st.sampled_from(ACCOUNTS)),
                "event.outcome": draw(st.sampled_from(["failure"] * 6 + ["success"])),
                "service.name": "sshd",
            }
        )
    return rows


def oracle(rows: list[dict[str, Any]]) -> list[tuple[str, float, int, int]]:
    """``(address, first failure in seconds, attempts, distinct accounts)`` per finding, row by row.

    A failure continues its address's run when its gap to the previous failure is in range and
    within the ratio of the previous gap; an irregular gap restarts the run at the previous
    failure, an out-of-range gap at this one; a success ends the run. A run is reported once,
    when it has ``MIN_ATTEMPTS`` failures and two accounts, or ``SINGLE`` failures.

    Times are counted in whole microseconds, as the events hold them: in float seconds a gap of
    exactly a minute could come out as 59.99999999999997 and miss the range (hypothesis found such
    a stream: failures 200.333333 s and 260.333333 s after the base time)."""
    runs: dict[str, dict[str, Any] | None] = {}
    found = []
    for row in rows:
        ip, t = row["source.ip"], (row["@timestamp"] - BASE_TIME) // US
        user = row["user.name"]
        run = runs.get(ip)
        if row["event.outcome"] == "success":
            runs[ip] = None
            continue
        if run is not None:
            gap = t - run["last"]
            if not MIN_GAP <= gap <= MAX_GAP:
                run = None
            elif run["links"] and not (run["gap"] <= gap * RATIO and gap <= run["gap"] * RATIO):
                run = {"first": run["last"], "last": run["last"], "links": 0, "gap": 0, "accounts": {run["user"]}}
            if run is not None:
                run.update(last=t, links=run["links"] + 1, gap=gap, user=user)
                run["accounts"].add(user)
        if run is None:
            run = {"first": t, "last": t, "links": 0, "gap": 0, "accounts": {user}, "user": user}
        runs[ip] = run
        attempts = run["links"] + 1
        if not run.get("alerted") and attempts >= MIN_ATTEMPTS and (len(run["accounts"]) >= 2 or attempts >= SINGLE):
            run["alerted"] = True
            found.append((ip, run["first"] / 1e6, attempts, len(run["accounts"])))
    return found


def summary(findings: list[Finding]) -> list[tuple[str, float, int, int]]:
    return sorted(
        (
            f.subject.value,
            round((f.first_seen - BASE_TIME).total_seconds(), 6),
            f.details["failures"],
            f.details["distinct_accounts"],
        )
        for f in findings
    )


def detector() -> SlowBruteForceDetector:
    return SlowBruteForceDetector(allowed_lateness_seconds=10_000)


def _paced(start: float, every: float, users: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "@timestamp": BASE_TIME + timedelta(seconds=start + every * i),
            "source.ip": ADDRESSES[1],
            "user.name": user,
            "event.outcome": "failure",
            "service.name": "sshd",
        }
        for i, user in enumerate(users)
    ]


@settings(max_examples=150, deadline=None)
@given(rows=streams(), size=st.integers(1, 25), stop=st.integers(0, 60))
@example(rows=_paced(200 + 1 / 3, 60, ["root", "admin", "root", "admin"]), size=1, stop=0)  # gaps of exactly 60 s
def test_findings_are_the_rules_whatever_the_batches_and_restarts(
    rows: list[dict[str, Any]], size: int, stop: int
) -> None:
    whole = make_batch(Dataset.AUTH, rows)
    expected = sorted((ip, round(first, 6), n, k) for ip, first, n, k in oracle(rows))
    assert summary(run_detector(detector(), [whole])) == expected
    assert summary(run_detector(detector(), split_batch(whole, size))) == expected
    # stopped after ``stop`` rows, checkpointed through JSON, restored into a fresh detector
    cut = min(stop, len(rows))
    first = detector()
    before = first.detect(whole.slice(0, cut)) if cut else []
    resumed = detector()
    resumed.restore(json.loads(json.dumps(first.checkpoint())))
    rest: list[EventBatch] = split_batch(whole.slice(cut, len(rows) - cut), size) if cut < len(rows) else []
    assert summary([*before, *run_detector(resumed, rest)]) == expected


def test_a_run_carried_across_batches_is_continued_broken_and_reported_once() -> None:
    """Hand-picked: a paced run over three batches, an irregular gap restarting it at the previous
    failure, and the restarted run qualifying again in the last batch."""

    def fail(t: float, user: str) -> dict[str, Any]:
        return {
            "@timestamp": BASE_TIME + timedelta(seconds=t),
            "source.ip": ADDRESSES[0],
            "user.name": user,
            "event.outcome": "failure",
            "service.name": "sshd",
        }

    times = [0, 600, 1200, 1800, 2400, 2500, 2600, 2700]  # 10-minute pace, then 100 s: irregular
    rows = [fail(t, ACCOUNTS[i % 3]) for i, t in enumerate(times)]
    whole = make_batch(Dataset.AUTH, rows)
    for size in (1, 2, 3, 8):
        found = summary(run_detector(detector(), split_batch(whole, size)))
        # the paced run qualifies at its fourth failure; 2400 -> 2500 breaks it, and the run that
        # restarts at 2400 has four failures (2400..2700) by the end
        assert found == [(ADDRESSES[0], 0.0, 4, 3), (ADDRESSES[0], 2400.0, 4, 3)], size


def test_addresses_whose_hashes_clash_are_still_grouped_apart() -> None:
    """Rows are grouped by address hash; should two addresses hash alike, the second hash decides."""
    ips = pl.Series(["b", "a", "b", "c", "a"])
    order, starts = address_order(np.full(5, 7, dtype=np.uint64), ips.hash(seed=CHECK_SEED).to_numpy())
    groups = np.split(order, starts[1:])
    assert sorted(ips.gather(g).to_list() for g in groups) == [["a", "a"], ["b", "b"], ["c"]]
    assert sorted(g.tolist() for g in groups) == [[0, 2], [1, 4], [3]]  # stream order within an address


def test_address_order_groups_like_a_plain_group_by() -> None:
    """The packed sort against Polars' group-by on 5,000 rows of 300 addresses."""
    rng = np.random.default_rng(5)
    ips = pl.Series([f"10.0.{i // 256}.{i % 256}" for i in rng.integers(0, 300, 5000)])
    order, starts = address_order(hash_keys(ips), ips.hash(seed=CHECK_SEED).to_numpy())
    ours = sorted(g.tolist() for g in np.split(order, starts[1:]))
    expected = ips.to_frame("ip").with_row_index().group_by("ip").agg("index")["index"].to_list()
    assert ours == sorted(expected)
