"""Throughput benchmark: parse + detect events/s on one core, against fail2ban-regex in the same run.

What it does, in one run on this machine:
  1. writes a 1,000,000-line access log with the simulator (and a same-sized sshd auth log), and
     an "ordinary traffic" log of the same length by repeating the 10,000 mostly benign Apache
     lines of ../shared/corpora/logs/web_attacks/elastic_examples/apache_logs (skipped, with a
     note, where ../shared is absent);
  2. runs Watchhouse on each, pinned to one core with POLARS_MAX_THREADS=1, in a fresh process,
     and records CPU time, wall time and peak RSS: reading alone (the reader's share), read +
     ``web.attack_patterns`` alone (the issue's definition of the access-log target), and read +
     all built-in detectors;
  3. installs fail2ban from Debian's packages if missing (services kept from starting by a
     policy-rc.d that exits 101) and times `fail2ban-regex` with its stock sshd filter on the
     same auth log;
  4. prints lines/s for each and the ratios.
With --memory it also scans a 10x larger access log and compares peak RSS (bounded batches mean
it should stay flat).

Usage: python bench/throughput.py [--lines 1000000] [--memory] [--skip-fail2ban]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from apt_packages import apt_install, can_install

OUT = Path(__file__).resolve().parent / "out"
FAIL2BAN_FILTER = Path("/etc/fail2ban/filter.d/sshd.conf")
#: 10,000 Apache combined lines of a public website (May 2015), unlabelled and mostly benign
ORDINARY_SOURCE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "corpora"
    / "logs"
    / "web_attacks"
    / "elastic_examples"
    / "apache_logs"
)
WEB_DETECTOR = "web.attack_patterns"
#: ``--only`` value that runs no detector: what reading alone costs (the reader's own budget)
READ_ONLY = "none"
TARGET = 300_000


def write_access_log(path: Path, lines: int, seed: int = 11) -> int:
    """Simulate enough platform traffic, then keep exactly ``lines`` access-log lines."""
    from watchhouse.simulate import SimulationConfig, estimate_events, simulate

    if path.exists() and sum(1 for _ in path.open("rb")) == lines:
        return lines
    work = Path(tempfile.mkdtemp(prefix="wh-bench-"))
    try:
        probe = SimulationConfig(out_dir=work, users=1000, hours=1.0, seed=seed, outputs=frozenset({"access"}))
        per_user_hour = max(estimate_events(probe) / 1000.0, 1e-3)
        users = 5000
        hours = max(1.0, lines * 1.15 / (users * per_user_hour))
        for _ in range(4):  # the estimate is rough: grow the simulated day until it is long enough
            config = SimulationConfig(out_dir=work, users=users, hours=hours, seed=seed, outputs=frozenset({"access"}))
            simulate(config)
            with (work / "access.log").open("rb") as src:
                available = sum(1 for _ in src)
            if available >= lines:
                break
            hours *= 1.2 * lines / max(available, 1)
        written = 0
        with (work / "access.log").open("rb") as src, path.open("wb") as dst:
            for line in src:
                if written == lines:
                    break
                dst.write(line)
                written += 1
        return written
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_ordinary(path: Path, lines: int, source: Path = ORDINARY_SOURCE) -> int:
    """``lines`` lines of real, mostly benign traffic: the source file repeated (most lines are
    rejected by the prefilter, which is what the issue's "ordinary traffic" target is about)."""
    if path.exists() and sum(1 for _ in path.open("rb")) == lines:
        return lines
    sample = [line if line.endswith(b"\n") else line + b"\n" for line in source.read_bytes().splitlines(keepends=True)]
    written = 0
    with path.open("wb") as dst:
        while written < lines:
            take = sample[: lines - written]
            dst.writelines(take)
            written += len(take)
    return written


def write_sshd(path: Path, lines: int) -> int:
    from watchhouse.simulate import write_sshd_log

    if path.exists() and sum(1 for _ in path.open("rb")) == lines:
        return lines
    return write_sshd_log(path, lines, seed=5)


def measure(path: Path, only: str | None = None) -> dict[str, float]:
    """Scan ``path`` in this process (called in a child pinned to one core); ``only`` names the
    one detector to run (``READ_ONLY``: none), all built-in ones otherwise."""
    # Start-up is not throughput: modules are imported before the clock starts, including
    # pyarrow.compute, which the event model imports lazily on the first batch (~0.3 CPU-s).
    import pyarrow.compute  # noqa: F401

    from watchhouse.core.identity import Pseudonymizer
    from watchhouse.detect.engine import DetectionEngine
    from watchhouse.detect.postprocess import PostProcessor
    from watchhouse.detect.registry import DetectorRegistry
    from watchhouse.ingest import Quarantine, ReaderOptions
    from watchhouse.runners.embedded import run_scan

    detectors = DetectorRegistry.default(include_plugins=False).create()
    if only is not None:
        detectors = [d for d in detectors if d.info.name == only]
        if not detectors and only != READ_ONLY:
            raise SystemExit(f"no built-in detector named {only!r}")
    engine = DetectionEngine(detectors, PostProcessor({d.info.name: d.info.version for d in detectors}))
    started = time.perf_counter()
    cpu_started = time.process_time()
    with Quarantine(None) as quarantine:
        summary = run_scan(
            [str(path)],
            reader_options=ReaderOptions(),
            engine=engine,
            sinks=[],
            quarantine=quarantine,
            pseudonymizer=Pseudonymizer(b"bench-key-bench-key-0123"),
        )
    return {
        "lines": summary.lines,
        "events": summary.events,
        "alerts": summary.alert_count,
        "quarantined": summary.quarantined,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_in_child(path: Path, only: str | None = None) -> dict[str, float]:
    env = dict(os.environ, POLARS_MAX_THREADS="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--measure", str(path), *(["--only", only] if only else [])]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ensure_fail2ban() -> bool:
    if shutil.which("fail2ban-regex") and FAIL2BAN_FILTER.exists():
        return True
    if not can_install():
        print("fail2ban-regex missing and cannot be installed here (needs root and apt-get)", file=sys.stderr)
        return False
    apt_install(["fail2ban"])
    if shutil.which("fail2ban-regex") and FAIL2BAN_FILTER.exists():
        return True
    print("fail2ban could not be installed with apt-get; its comparison is skipped", file=sys.stderr)
    return False


def time_fail2ban(path: Path) -> dict[str, float]:
    cmd = ["fail2ban-regex", "--print-no-missed", "--print-no-ignored", str(path), str(FAIL2BAN_FILTER)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = re.search(r"Lines:\s*(\d+) lines, (\d+) ignored, (\d+) matched", done.stdout)
    lines = int(found.group(1)) if found else 0
    return {"lines": lines, "matched": int(found.group(3)) if found else 0, "seconds": seconds, "cpu_seconds": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--memory", action="store_true", help="also scan 10x the lines and compare peak RSS")
    parser.add_argument("--skip-fail2ban", action="store_true")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.only)))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    access, sshd = OUT / f"access-{args.lines}.log", OUT / f"sshd-{args.lines}.log"
    ordinary = OUT / f"ordinary-{args.lines}.log"
    print(f"preparing {args.lines:,}-line access and sshd logs in {OUT} …", flush=True)
    write_access_log(access, args.lines)
    write_sshd(sshd, args.lines)
    have_ordinary = ORDINARY_SOURCE.is_file()
    if have_ordinary:
        write_ordinary(ordinary, args.lines)
    else:
        print(f"note: {ORDINARY_SOURCE} is absent (no ../shared checkout): the ordinary-traffic run is skipped")

    ours_read = measure_in_child(access, READ_ONLY)
    ours_web = measure_in_child(access, WEB_DETECTOR)
    ours_http = measure_in_child(access)
    ours_plain = measure_in_child(ordinary, WEB_DETECTOR) if have_ordinary else None
    ours_sshd = measure_in_child(sshd)
    rows = [
        ("(r) simulated access log, read only", ours_read),
        ("(a) simulated access log, read + web.attack_patterns", ours_web),
        ("(b) simulated access log, read + all detectors", ours_http),
    ]
    if ours_plain is not None:
        rows.append(("(c) ordinary traffic, read + web.attack_patterns", ours_plain))
    rows.append(("sshd auth log, read + all detectors", ours_sshd))
    f2b = None
    if not args.skip_fail2ban and ensure_fail2ban():
        f2b = time_fail2ban(sshd)
        rows.append(("fail2ban-regex sshd filter, same auth log", f2b))

    # Rates are per CPU-second of the measured process: on a shared machine wall time also counts
    # the time other processes held the core, CPU time does not (both are printed).
    print(f"\n{'run':54} {'lines':>11} {'alerts':>7} {'wall s':>7} {'cpu s':>7} {'lines/cpu-s':>12} {'peak RSS':>9}")
    for name, r in rows:
        rss = f"{r['max_rss_mb']:.0f} MB" if "max_rss_mb" in r else "–"
        alerts = f"{int(r['alerts']):,}" if "alerts" in r else "–"
        rate = r["lines"] / r["cpu_seconds"] if r["cpu_seconds"] else 0.0
        print(
            f"{name:54} {int(r['lines']):>11,} {alerts:>7} {r['seconds']:>7.2f} {r['cpu_seconds']:>7.2f} "
            f"{rate:>12,.0f} {rss:>9}"
        )
    print()
    print(
        f"(r) simulated day, reading alone: {ours_read['cpu_seconds']:.2f} CPU-s per {int(ours_read['lines']):,} lines"
    )
    rate = ours_web["lines"] / ours_web["cpu_seconds"]
    print(f"(a) simulated day, read + web-attack detection per core: {rate:,.0f} lines/s (target ≥ {TARGET:,})")
    rate = ours_http["lines"] / ours_http["cpu_seconds"]
    print(f"(b) simulated day, read + all detectors per core: {rate:,.0f} lines/s")
    if ours_plain is not None:
        rate = ours_plain["lines"] / ours_plain["cpu_seconds"]
        print(f"(c) ordinary traffic, read + web-attack detection per core: {rate:,.0f} lines/s (target ≥ {TARGET:,})")
    http_rate = ours_http["lines"] / ours_http["cpu_seconds"]
    if f2b is not None and f2b["cpu_seconds"]:
        f2b_rate = f2b["lines"] / f2b["cpu_seconds"]
        print(f"ratio, watchhouse access log (all detectors) vs fail2ban-regex sshd: {http_rate / f2b_rate:.1f}x")
        sshd_rate = ours_sshd["lines"] / ours_sshd["cpu_seconds"]
        print(f"ratio, watchhouse sshd vs fail2ban-regex sshd (like for like): {sshd_rate / f2b_rate:.1f}x")

    if args.memory:
        big = OUT / f"access-{args.lines * 10}.log"
        print(f"\npreparing {args.lines * 10:,}-line access log …", flush=True)
        write_access_log(big, args.lines * 10)
        ours_big = measure_in_child(big)
        print(
            f"peak RSS: {ours_http['max_rss_mb']:.0f} MB at {args.lines:,} lines, "
            f"{ours_big['max_rss_mb']:.0f} MB at {args.lines * 10:,} lines "
            f"({ours_big['lines'] / ours_big['cpu_seconds']:,.0f} lines/cpu-s)"
        )


if __name__ == "__main__":
    main()
