"""Throughput of ``accounts.failed_login_burst`` detect() on 1M synthetic auth rows (not a test).

Run: ``POLARS_MAX_THREADS=1 .venv/bin/python bench/burst_detector_micro.py [batch_rows]``

The stream is one day of logins from 100k addresses and 200k accounts, 3 % failures scattered
at random, plus 30 injected bursts of 300 failures each from attacker addresses. "cold" counts
the batch's one-off Arrow-to-Polars conversion (shared by every detector in a real run), "warm"
only the detector's own work. The best of five runs is reported (CPU seconds), after one warm-up run.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pyarrow as pa

from watchhouse.core.events import TIMESTAMP, Dataset, EventBatch
from watchhouse.detectors.accounts.failed_login_burst import FailedLoginBurstDetector

N = 1_000_000


def synthetic() -> EventBatch:
    rng = np.random.default_rng(7)
    ts = np.sort(rng.integers(0, 86_400 * 1_000_000, N)) + 1_772_400_000_000_000
    ip_idx = rng.integers(0, 100_000, N)
    ips = np.array([f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(100_000)], dtype=object)
    users = np.array([f"p-{i:016x}" for i in range(200_000)], dtype=object)
    outcome = np.where(rng.random(N) < 0.03, "failure", "success").astype(object)
    for b in range(30):
        rows = int(rng.integers(0, N - 2000)) + np.arange(0, 600, 2)
        ip_idx[rows] = 99_000 + b
        outcome[rows] = "failure"
    table = pa.table(
        {
            "@timestamp": pa.array(ts, type=pa.int64()).cast(TIMESTAMP),
            "log.file.path": pa.array(["bench/auth.jsonl"] * N),
            "log.file.line": pa.array(np.arange(1, N + 1)),
            "source.ip": pa.array(ips[ip_idx]),
            "user.name": pa.array(users[rng.integers(0, 200_000, N)]),
            "event.outcome": pa.array(outcome),
            "service.name": pa.array(np.where(rng.random(N) < 0.2, "sshd", "web").astype(object)),
        }
    )
    return EventBatch.from_table(Dataset.AUTH, table)


def run(table: pa.Table, batch_rows: int, *, warm: bool) -> tuple[float, int]:
    pieces = [EventBatch(Dataset.AUTH, table.slice(o, batch_rows)) for o in range(0, N, batch_rows)]
    if warm:
        for piece in pieces:
            piece.to_polars()
    detector = FailedLoginBurstDetector()
    start = time.process_time()  # CPU time: the benchmark machine is shared
    found = sum(len(detector.detect(piece)) for piece in pieces)
    elapsed = time.process_time() - start
    return elapsed, found + len(detector.finalize())


def main() -> None:
    batch_rows = int(sys.argv[1]) if len(sys.argv) > 1 else N
    table = synthetic().table
    run(table, batch_rows, warm=False)
    threads = os.environ.get("POLARS_MAX_THREADS", "default")
    for warm in (False, True):
        best, found = min(run(table, batch_rows, warm=warm) for _ in range(5))
        label = "warm" if warm else "cold"
        print(
            f"POLARS_MAX_THREADS={threads} batch_rows={batch_rows} {label}: "
            f"{best:.3f}s, {N / best:,.0f} rows/s, {found} findings"
        )


if __name__ == "__main__":
    main()
