"""Account-attack benchmark: auth events/s per core, against fail2ban-regex in the same run.

1. writes a simulated 1,000,000-line sshd log (shared with bench/throughput.py) and a simulated
   auth.jsonl, read once into Arrow batches;
2. in a child pinned to one core with POLARS_MAX_THREADS=1: the account detectors over the Arrow
   batches (the JSON/Arrow path, parsing excluded) and read + detect from raw sshd text;
3. times `fail2ban-regex` with its stock sshd filter on the same sshd log and prints the ratio;
4. with --flood: 10 million distinct attacking addresses within one hour through the detectors,
   reporting peak RSS.

Usage: python bench/accounts.py [--lines 1000000] [--flood] [--skip-fail2ban]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import OUT, ensure_fail2ban, time_fail2ban, write_sshd


def _detectors() -> list[object]:
    from watchhouse.cli.eval_accounts_cmd import account_detectors

    return list(account_detectors())


def measure_arrow(lines: int) -> dict[str, float]:
    """Detectors only, over simulated auth events already in Arrow batches."""
    from watchhouse.cli.eval_accounts_cmd import read_auth
    from watchhouse.simulate import SimulationConfig, simulate

    work = OUT / "accounts-sim"
    if not (work / "auth.jsonl").exists():
        simulate(SimulationConfig(out_dir=work, users=20000, hours=24, seed=3, outputs=frozenset({"auth"})))
    batches = read_auth([work / "auth.jsonl"])
    events = sum(b.num_rows for b in batches)
    detectors = _detectors()
    started = time.perf_counter()
    alerts = 0
    for batch in batches:
        for d in detectors:
            alerts += len(d.detect(batch))  # type: ignore[attr-defined]
    for d in detectors:
        alerts += len(d.finalize())  # type: ignore[attr-defined]
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": seconds, "alerts": alerts, "max_rss_mb": _rss()}


def measure_sshd(path: Path) -> dict[str, float]:
    """Read + detect from raw sshd text."""
    from watchhouse.cli.eval_accounts_cmd import scan

    started = time.perf_counter()
    alerts = scan([path], [*_detectors()])  # type: ignore[list-item]
    seconds = time.perf_counter() - started
    return {"lines": sum(1 for _ in path.open("rb")), "seconds": seconds, "alerts": len(alerts), "max_rss_mb": _rss()}


def measure_flood(addresses: int) -> dict[str, float]:
    """``addresses`` distinct sources, one failed login each, spread over one hour."""
    import numpy as np
    import pyarrow as pa

    from watchhouse.core.events import Dataset, EventBatch

    detectors = _detectors()
    step = 200_000
    hour_us = 3_600_000_000
    t0 = 1_772_000_000_000_000
    started = time.perf_counter()
    alerts = 0
    for start in range(0, addresses, step):
        idx = np.arange(start, min(start + step, addresses), dtype=np.int64)
        ips = [f"{10 + (i >> 24) % 200}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}" for i in idx.tolist()]
        columns = {
            "@timestamp": pa.array(t0 + idx * hour_us // addresses, type=pa.timestamp("us", tz="UTC")),
            "log.file.path": pa.array(["flood.jsonl"] * len(idx)),
            "log.file.line": pa.array(idx + 1),
            "source.ip": pa.array(ips),
            "user.name": pa.array([f"u{i % 1_000_003}" for i in idx.tolist()]),
            "event.outcome": pa.array(["failure"] * len(idx)),
            "event.action": pa.array(["login"] * len(idx)),
            "service.name": pa.array(["web"] * len(idx)),
            "user_agent.original": pa.array([f"agent/{i % 5000}" for i in idx.tolist()]),
        }
        batch = EventBatch.from_columns(Dataset.AUTH, columns)
        for d in detectors:
            alerts += len(d.detect(batch))  # type: ignore[attr-defined]
    for d in detectors:
        alerts += len(d.finalize())  # type: ignore[attr-defined]
    return {"events": addresses, "seconds": time.perf_counter() - started, "alerts": alerts, "max_rss_mb": _rss()}


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(*args: str) -> dict[str, float]:
    env = dict(os.environ, POLARS_MAX_THREADS="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, __file__, *args]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--flood", action="store_true", help="also 10M distinct attacking addresses in one hour")
    parser.add_argument("--flood-addresses", type=int, default=10_000_000)
    parser.add_argument("--skip-fail2ban", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, value = args.child
        if kind == "arrow":
            print(json.dumps(measure_arrow(int(value))))
        elif kind == "sshd":
            print(json.dumps(measure_sshd(Path(value))))
        else:
            print(json.dumps(measure_flood(int(value))))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    sshd = OUT / f"sshd-{args.lines}.log"
    write_sshd(sshd, args.lines)
    arrow = in_child("--child", "arrow", str(args.lines))
    text = in_child("--child", "sshd", str(sshd))
    arrow_rate = arrow["events"] / arrow["seconds"]
    text_rate = text["lines"] / text["seconds"]
    print(
        f"auth events, Arrow path, account detectors: {arrow['events']:,.0f} in {arrow['seconds']:.2f}s = "
        f"{arrow_rate:,.0f} events/s per core (target >= 1,000,000); {arrow['alerts']:.0f} alerts"
    )
    print(
        f"raw sshd text, read + account detectors: {text['lines']:,.0f} in {text['seconds']:.2f}s = "
        f"{text_rate:,.0f} lines/s per core (target >= 300,000); {text['alerts']:.0f} alerts"
    )
    if not args.skip_fail2ban and ensure_fail2ban():
        f2b = time_fail2ban(sshd)
        f2b_rate = f2b["lines"] / f2b["seconds"]
        print(
            f"fail2ban-regex stock sshd filter, same log: {f2b['lines']:,.0f} in {f2b['seconds']:.2f}s = "
            f"{f2b_rate:,.0f} lines/s"
        )
        print(f"ratio, watchhouse raw sshd vs fail2ban-regex: {text_rate / f2b_rate:.1f}x")
    if args.flood:
        flood = in_child("--child", "flood", str(args.flood_addresses))
        print(
            f"flood: {flood['events']:,.0f} distinct addresses in one hour, {flood['seconds']:.1f}s, "
            f"peak RSS {flood['max_rss_mb']:.0f} MB (target < 1024 MB), {flood['alerts']:.0f} alerts"
        )


if __name__ == "__main__":
    main()
