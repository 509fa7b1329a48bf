"""sshd reader micro-benchmark: raw sshd/syslog text to event batches, no detectors.

Issue 5 asks for >= 300,000 lines/s per core from raw sshd text, read + detect. The detectors
take their own share, so the reader alone has to run well above that: this bench isolates it.

1. writes the simulated 1,000,000-line sshd log that bench/accounts.py and bench/throughput.py
   use (``write_sshd``: same seed, same file, reused when present);
2. in a child pinned to one core with POLARS_MAX_THREADS=1, reads it through ``SourceReader``
   (sniffing, chunking, syslog framing, sshd rules, connection linking, quarantine,
   pseudonymisation, schema conformance) and drops the batches (with the compiled head reader
   where it is built; ``WATCHHOUSE_PURE_PYTHON=1`` times the numpy one); with ``--parser-only`` it times
   ``SyslogParser.parse`` over the same chunks instead, which is the part the syslog and sshd
   modules own;
3. prints lines per CPU-second (CPU time, not wall: the machine is shared) and peak RSS; with
   ``--profile`` the child runs under cProfile and prints the heaviest functions.

Usage: python bench/sshd_reader_micro.py [--lines 1000000] [--file PATH] [--parser-only] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import OUT, write_sshd


def _read_all(path: Path) -> dict[str, float]:
    """Every batch of ``path`` through the full reader (what a scan pays before any detector)."""
    from watchhouse.core.identity import Pseudonymizer
    from watchhouse.ingest import Quarantine, ReaderOptions, SourceReader

    counts: dict[str, float] = {}
    with Quarantine(None) as quarantine:
        reader = SourceReader(str(path), ReaderOptions(), quarantine, Pseudonymizer(b"bench-key-bench-key-0123"))
        for batch in reader.batches():
            key = f"events:{batch.dataset.value}"
            counts[key] = counts.get(key, 0) + batch.num_rows
        counts.update(lines=reader.stats.lines, quarantined=reader.stats.quarantined, blank=reader.stats.blank)
    return counts


def _parse_only(path: Path) -> dict[str, float]:
    """``SyslogParser.parse`` alone over the reader's chunks (cut before the clock starts)."""
    from watchhouse.ingest.options import ReaderOptions
    from watchhouse.ingest.source import LineChunk, iter_chunks
    from watchhouse.ingest.syslog import SyslogParser

    options = ReaderOptions()
    with path.open("rb") as stream:
        chunks = [
            c for c in iter_chunks(stream.read, options.batch_bytes, options.max_line_bytes) if isinstance(c, LineChunk)
        ]
    started = time.process_time()
    parser = SyslogParser(2026)
    counts: dict[str, float] = {"lines": 0, "quarantined": 0, "blank": 0}
    for chunk in chunks:
        result = parser.parse(chunk)
        counts["lines"] += chunk.n_lines
        counts["quarantined"] += len(result.rejected)
        counts["blank"] += result.blank
        for dataset, table in result.tables:
            key = f"events:{dataset.value}"
            counts[key] = counts.get(key, 0) + table.num_rows
    counts["cpu_seconds"] = time.process_time() - started
    return counts


def measure(path: Path, parser_only: bool, profile: bool) -> dict[str, float]:
    """Runs in the pinned child. Imports happen before the clock starts: start-up is not throughput."""
    import pyarrow.compute  # noqa: F401 - imported lazily by the event model on the first batch

    import watchhouse.ingest  # noqa: F401
    from watchhouse._native import syslog as native_syslog

    run = _parse_only if parser_only else _read_all
    profiler = cProfile.Profile() if profile else None
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    result = run(path)
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - cpu_started
    result.setdefault("cpu_seconds", cpu)
    result["compiled"] = float(native_syslog is not None)  # which head reader ran: the kernel or numpy
    result.update(
        seconds=time.perf_counter() - started, max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        print(text.getvalue(), file=sys.stderr)
    return result


def in_child(path: Path, parser_only: bool, profile: bool) -> dict[str, float]:
    env = dict(os.environ, POLARS_MAX_THREADS="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--child", str(path)]
    cmd += ["--parser-only"] if parser_only else []
    cmd += ["--profile"] if profile else []
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    done = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    if profile:
        print(done.stderr)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--file", type=Path, help="read this log instead of the simulated one")
    parser.add_argument("--parser-only", action="store_true", help="time SyslogParser.parse alone")
    parser.add_argument("--profile", action="store_true", help="cProfile the child (slower; for finding hot spots)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.parser_only, args.profile)))
        return
    path = args.file
    if path is None:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"sshd-{args.lines}.log"
        write_sshd(path, args.lines)
    r = in_child(path, args.parser_only, args.profile)
    what = "SyslogParser.parse alone" if args.parser_only else "SourceReader, all batches"
    events = ", ".join(f"{k[7:]} {int(v):,}" for k, v in sorted(r.items()) if k.startswith("events:"))
    print(
        f"{what}: {int(r['lines']):,} lines in {r['cpu_seconds']:.2f} CPU-s ({r['seconds']:.2f}s wall) = "
        f"{r['lines'] / r['cpu_seconds']:,.0f} lines/CPU-s (target >= 500,000); peak RSS {r['max_rss_mb']:.0f} MB; "
        f"events: {events}; quarantined {int(r['quarantined']):,}, blank {int(r['blank']):,}; "
        f"head reader: {'compiled' if r['compiled'] else 'numpy (WATCHHOUSE_PURE_PYTHON or not built)'}"
    )


if __name__ == "__main__":
    main()
