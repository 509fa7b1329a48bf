"""Sigma benchmark: events/s per core, ours vs Zircolite-style SQLite, same events, same run.

What it does:
  1. reads the SigmaHQ regression EVTX samples (real Windows events of ~50 kinds) and varies
     them to --events rows: every copy gets its own record id and, where present, its own
     ProcessId/ProcessGuid/LogonId/UtcTime (so no two EventData texts are equal, as in real
     logs), and every 4th copy's CommandLine gets a unique trailing token (so ~25 % of command
     lines are distinct);
  2. in a child process pinned to one core (taskset -c 0, POLARS_MAX_THREADS=1): compiles the
     SigmaHQ Windows rules (rules*/windows), warms up on one batch, then times
     ``SigmaEngine.match`` over every batch of --batch rows; reports peak RSS;
  3. in a second pinned child: converts each of the same rules with pySigma's SQLite backend
     (pysigma-backend-sqlite, the backend Zircolite uses) to one query per rule, loads the first
     --sqlite-events of the same events into an in-memory SQLite table (text columns COLLATE
     NOCASE, REGEXP bound to Python's re.search) and runs every query — load plus queries
     timed, as Zircolite's events/s counts both;
  Both sides start from the same input: the winlog batches our reader made of the EVTX files
  (System fields in columns, EventData as one JSON text per event). Our timed loop includes
  decoding that JSON (only the fields the rules read, per event kind); the reader itself is
  not timed on either side.
  4. prints events/s of each and the ratio. "Per core" divides by the child's CPU time
     (``time.process_time``, user + system of the pinned process): on a shared machine wall time
     also counts other processes' turns on that core. Wall-clock rates are printed beside it.

Usage: python bench/sigma_rules.py [--events 100000] [--batch 50000] [--sqlite-events 3000] [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "sigma"
_VARIED = ("ProcessId", "ProcessGuid", "LogonId", "UtcTime", "ParentProcessId")


def windows_rules(corpus: Path) -> list[Path]:
    return sorted(p / "windows" for p in corpus.glob("rules*") if (p / "windows").is_dir())


def write_events(corpus: Path, events: int, out: Path) -> int:
    """The varied regression events as an Arrow IPC file of winlog rows; returns the row count."""
    import orjson
    import pyarrow as pa
    import pyarrow.ipc as ipc

    from watchhouse.core.events import EventBatch
    from watchhouse.ingest.quarantine import Quarantine
    from watchhouse.ingest.winlog import read_evtx

    quarantine = Quarantine(None)
    samples = [b for p in sorted(corpus.glob("regression_data/**/*.evtx")) for b in read_evtx(p, quarantine)]
    base = EventBatch.concat(samples).table
    data = base.column("winlog.event_data").to_pylist()
    decoded = [orjson.loads(d) if d else {} for d in data]
    n = base.num_rows
    take = [i % n for i in range(events)]
    table = base.take(pa.array(take))
    varied = []
    for copy, source in enumerate(take):
        fields = dict(decoded[source])
        for name in _VARIED:
            if name in fields:
                fields[name] = f"{fields[name]}-{copy}"
        if copy % 4 == 3 and "CommandLine" in fields:
            fields["CommandLine"] = f"{fields['CommandLine']} #{copy}"
        varied.append(orjson.dumps(fields).decode())
    index = table.schema.get_field_index("winlog.event_data")
    table = table.set_column(index, "winlog.event_data", pa.array(varied, type=pa.string()))
    index = table.schema.get_field_index("winlog.record_id")
    table = table.set_column(index, "winlog.record_id", pa.array(range(events), type=pa.int64()))
    with ipc.new_file(str(out), table.schema) as writer:
        writer.write_table(table)
    return events


def _load(path: Path) -> object:
    import pyarrow.ipc as ipc

    from watchhouse.core.events import Dataset, EventBatch

    return EventBatch.from_table(Dataset.WINLOG, ipc.open_file(str(path)).read_all())


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_ours(
    events_file: Path, rule_dirs: list[Path], batch_rows: int, profile: Path | None = None
) -> dict[str, object]:
    from watchhouse.core.events import EventBatch
    from watchhouse.sigma.engine import SigmaEngine, Status
    from watchhouse.sigma.loader import load_rules

    start = time.perf_counter()
    loaded = load_rules(rule_dirs)
    engine = SigmaEngine(loaded.rules)
    batch = _load(events_file)
    assert isinstance(batch, EventBatch)
    batches = [batch.slice(o, batch_rows) for o in range(0, batch.num_rows, batch_rows)]
    # warm-up on a whole batch: matchers built on first use per pack (Hyperscan databases, cached
    # on disk; the bulk matchers that only a column of many distinct values takes) are setup,
    # paid once per process; no result of it is kept, every timed batch is evaluated afresh
    engine.match(batches[0])
    setup = time.perf_counter() - start
    rss_before = _peak_rss_mb()
    matches = 0
    profiler = cProfile.Profile() if profile else None
    start, cpu_start = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for part in batches:
        matches += sum(len(rows) for rows in engine.match(part).values())
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if profiler and profile:
        profiler.dump_stats(str(profile))
    return {
        "rules": len(loaded.rules),
        "routed": engine.summary()[Status.ROUTED],
        "events": batch.num_rows,
        "batch_rows": batch_rows,
        "seconds": seconds,
        "cpu_s": cpu,
        "events_per_s": batch.num_rows / cpu,
        "events_per_wall_s": batch.num_rows / seconds,
        "matches": matches,
        "setup_s": setup,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_match_mb": rss_before,
    }


def child_sqlite(events_file: Path, rule_dirs: list[Path], events: int) -> dict[str, object]:
    from sigma.exceptions import SigmaError

    from watchhouse.core.events import EventBatch
    from watchhouse.sigma.differential import convert, load_sqlite, sqlite_rows, winlog_records
    from watchhouse.sigma.loader import load_rules

    loaded = load_rules(rule_dirs)
    queries: list[list[str]] = []
    for rule in loaded.rules:
        try:
            queries.append(convert(rule))
        except (SigmaError, NotImplementedError):
            continue
    batch = _load(events_file)
    assert isinstance(batch, EventBatch)
    records = winlog_records(batch.slice(0, events))
    fields = {f for r in records for f in r}
    start, cpu_start = time.perf_counter(), time.process_time()
    conn = load_sqlite(records, fields)
    loaded_at = time.perf_counter()
    matches, failed = 0, 0
    for rule_queries in queries:
        try:
            matches += len(sqlite_rows(conn, rule_queries))
        except sqlite3.Error:  # a field no event has: Zircolite skips such rules too
            failed += 1
    end, cpu = time.perf_counter(), time.process_time() - cpu_start
    return {
        "rules": len(queries),
        "rules_failed": failed,
        "events": len(records),
        "load_s": loaded_at - start,
        "query_s": end - loaded_at,
        "seconds": end - start,
        "cpu_s": cpu,
        "events_per_s": len(records) / cpu,
        "events_per_wall_s": len(records) / (end - start),
        "matches": matches,
        "peak_rss_mb": _peak_rss_mb(),
    }


def run_child(kind: str, events_file: Path, args: argparse.Namespace) -> dict[str, object]:
    env = dict(os.environ, POLARS_MAX_THREADS="1", OMP_NUM_THREADS="1")
    command = [sys.executable, __file__, "--child", kind, "--events-file", str(events_file)]
    command += ["--batch", str(args.batch), "--sqlite-events", str(args.sqlite_events), "--corpus", str(args.corpus)]
    if args.profile and kind == "ours":
        command += ["--profile", str(args.profile.resolve())]
    if args.pin:
        command = ["taskset", "-c", "0", *command]
    done = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{done.stderr[-4000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--sqlite-events", type=int, default=3_000)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not taskset the children")
    parser.add_argument(
        "--profile",
        type=Path,
        help="write cProfile stats of our timed loop here (python -m pstats FILE); rates then include its overhead",
    )
    parser.add_argument("--child", choices=("ours", "sqlite"))
    parser.add_argument("--events-file", type=Path)
    args = parser.parse_args()
    rule_dirs = windows_rules(args.corpus)
    if args.child:
        if args.child == "ours":
            result = child_ours(args.events_file, rule_dirs, args.batch, args.profile)
        else:
            result = child_sqlite(args.events_file, rule_dirs, args.sqlite_events)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        events_file = Path(tmp) / "events.arrow"
        write_events(args.corpus, args.events, events_file)
        ours = run_child("ours", events_file, args)
        sqlite = run_child("sqlite", events_file, args)
    ratio = float(ours["events_per_s"]) / float(sqlite["events_per_s"])  # type: ignore[arg-type]
    print(f"rules: {', '.join(str(d.relative_to(args.corpus)) for d in rule_dirs)}")
    print(
        f"ours:   {ours['events']:>8} events in {ours['cpu_s']:.2f} CPU s -> {ours['events_per_s']:>10,.0f} events/s "
        f"per core (wall {ours['seconds']:.2f} s, {ours['events_per_wall_s']:,.0f}/s; {ours['rules']} rules, "
        f"{ours['routed']} routed; batch {ours['batch_rows']}; "
        f"peak RSS {ours['peak_rss_mb']:.0f} MB; {ours['matches']} matches)"
    )
    print(
        f"sqlite: {sqlite['events']:>8} events in {sqlite['cpu_s']:.2f} CPU s -> {sqlite['events_per_s']:>10,.0f} "
        f"events/s per core (wall {sqlite['seconds']:.2f} s; {sqlite['rules']} queries, "
        f"load {sqlite['load_s']:.2f} s + queries "
        f"{sqlite['query_s']:.2f} s; peak RSS {sqlite['peak_rss_mb']:.0f} MB; {sqlite['matches']} matches)"
    )
    print("timed:  ours = EventData JSON decode + all rules; sqlite = table load + one query per rule")
    print(f"ratio:  {ratio:.1f}x")


if __name__ == "__main__":
    main()
