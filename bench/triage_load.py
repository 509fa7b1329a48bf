"""Bounded wrk run against the triage queue of an office holding 1,000,000 alerts in SQLite.

Builds the office once (cached in ``--home``, default ``~/.cache/watchhouse-bench/triage-<N>``):
the schema comes from the real migrations (``open_office``), the alerts are bulk-inserted straight
into the ``alerts`` table in big transactions, in exactly the column formats the store writes
(checked afterwards by reading a sample back through :class:`AlertStore`). The data is shaped like
a real queue: most alerts from a few noisy detectors, severities skewed towards low/medium,
subjects from a Zipf-like pool of addresses and accounts, first sightings spread over six weeks,
and a tail of triaged/closed/assigned alerts.

Then it serves the office on 127.0.0.1 the way ``watchhouse serve --home HOME`` does (the same
code, the same default number of worker processes; ``--workers`` overrides it; no access log),
waits until every server process says its start-up (with its warm-up) is complete, logs in as an
analyst, and runs Debian's ``wrk`` (installed with apt if missing, under a
``policy-rc.d`` that exits 101) once per scenario: the API queue with typical filters, the next
page by cursor, and the console's ``/alerts`` page. It prints p50/p99 latency and requests per
second as wrk measures them, and the server's CPU time per request (user + sys from
``/proc/<pid>/stat``), which stays comparable on a busy shared machine where wall-clock does not.

    .venv/bin/python bench/triage_load.py                   # 1M alerts, 15 s per scenario
    .venv/bin/python bench/triage_load.py --duration 10 --connections 4 --json out.json
    .venv/bin/python bench/triage_load.py --home /dev/shm/wh-triage   # the office on tmpfs

Each page view commits one audit entry with ``synchronous = FULL``, so its latency includes one
fsync of the WAL; the script prints the disk's fsync latency first. On a shared virtual disk
whose fsync p99 is itself over 200 ms, run a copy on tmpfs to see what the application costs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from apt_packages import apt_install, can_install
from watchhouse.cli.serve_cmd import DEFAULT_WORKERS

USER, PASSWORD = "bench-analyst", "bench password for the triage load test"
T_END = datetime(2026, 11, 20, tzinfo=UTC)
SPAN = timedelta(weeks=6)
BATCH = 100_000

# (detector, crime code, weight, severities with weights, subject kind)
DETECTORS: tuple[tuple[str, str, int, tuple[int, ...], str], ...] = (
    ("web.attack_patterns", "illegal_access", 34, (5, 30, 40, 20, 5), "source.ip"),
    ("web.credential_stuffing", "illegal_access", 22, (0, 20, 45, 30, 5), "source.ip"),
    ("auth.brute_force", "illegal_access", 14, (0, 25, 45, 25, 5), "user.name"),
    ("web.scanner", "misuse_of_devices", 12, (30, 50, 18, 2, 0), "source.ip"),
    ("web.ddos_burst", "system_interference", 6, (0, 10, 40, 40, 10), "source.ip"),
    ("web.payment_fraud", "computer_fraud", 5, (0, 10, 40, 40, 10), "user.name"),
    ("web.defacement", "data_interference", 3, (0, 5, 30, 45, 20), "url.domain"),
    ("sigma.windows_logon", "illegal_access", 3, (10, 40, 35, 15, 0), "user.name"),
    ("web.csam_hash_match", "child_sexual_abuse_material", 1, (0, 0, 0, 20, 80), "user.name"),
)
STAGES = ("attempted", "completed")
STATUS_MIX = (("new", 80), ("triaged", 8), ("in_progress", 4), ("closed", 8))
ANALYSTS = ("ana", "ivy", "omar", "li")


# -- building the office ---------------------------------------------------------------------------


def office_location(home: Path) -> Any:
    from watchhouse.office.services import OfficeLocation

    return OfficeLocation(f"sqlite:///{home / 'office.db'}", home / "audit-signing.key", home / "evidence")


def _subject(rng: random.Random, kind: str) -> str:
    n = min(int(rng.paretovariate(1.1)), 20_000)  # a few subjects are very noisy, most are seen once
    if kind == "source.ip":
        return f"198.51.{(n >> 8) % 256}.{n % 256}" if n % 3 else f"2001:db8::{n:x}"
    if kind == "user.name":
        return f"user{n:05d}"
    return f"shop{n}.example"


def _sqlite_time(moment: datetime) -> str:
    """The text form SQLAlchemy's SQLite ``DateTime`` stores (naive UTC, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def alert_rows(count: int, seed: int = 6) -> Any:
    """Yield ``count`` alert rows as tuples in ``alerts`` column order (deterministic for ``seed``)."""
    from watchhouse.core.alerts import alert_id

    rng = random.Random(seed)
    weights = [d[2] for d in DETECTORS]
    statuses = [s for s, _ in STATUS_MIX]
    status_weights = [w for _, w in STATUS_MIX]
    created = _sqlite_time(T_END)
    for n in range(count):
        detector, crime, _w, sev_weights, kind = rng.choices(DETECTORS, weights)[0]
        severity = rng.choices(range(5), sev_weights)[0]
        subject = _subject(rng, kind)
        first = T_END - SPAN * rng.random()
        last = first + timedelta(seconds=rng.randint(0, 3600))
        status = rng.choices(statuses, status_weights)[0]
        key = f"{subject}|{n}"
        line = rng.randint(1, 5_000_000)
        yield (
            alert_id(detector, key),
            detector,
            "1",
            key,
            crime,
            rng.choice(STAGES),
            severity,
            round(rng.uniform(0.5, 0.99), 2),
            f"{detector.split('.')[-1].replace('_', ' ')} from {subject}",
            f"{detector} matched {rng.randint(1, 400)} events from {subject}",
            kind,
            subject,
            _sqlite_time(first),
            _sqlite_time(last),
            json.dumps([{"path": "/var/log/nginx/access.log", "line": line}]),
            1,
            json.dumps({"url.path": rng.choice(("/login", "/wp-login.php", "/api/v2/orders", "/checkout"))}),
            "[]",
            status,
            None,
            created,
            rng.choice(ANALYSTS) if status in ("triaged", "in_progress") else None,
            {"closed": "false_positive", "triaged": "true_positive"}.get(status),
        )


COLUMNS = (
    "id, detector, detector_version, key, crime_code, stage, severity, confidence, title, explanation, "
    "subject_kind, subject_value, first_seen, last_seen, evidence, evidence_count, details, tags, status, "
    "scan_id, created_at, assignee, verdict"
)


def build(home: Path, count: int) -> None:
    """Create the office (migrations, analyst account) and bulk-load ``count`` alerts, once."""
    from watchhouse.office.accounts.roles import Role
    from watchhouse.office.services import open_office

    marker = home / f"built-{count}"
    if marker.exists():
        _statistics_of_alerts_only(home)
        return
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    office = open_office(office_location(home))
    office.accounts.add("local:admin", USER, PASSWORD, (Role.ANALYST,))
    office.close()
    started = time.process_time()
    db = sqlite3.connect(home / "office.db", isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")  # a throw-away bench database: durability is not needed here
    placeholders = ", ".join("?" * len(COLUMNS.split(",")))
    rows = alert_rows(count)
    done = 0
    while done < count:
        chunk = [row for _, row in zip(range(BATCH), rows, strict=False)]
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO alerts ({COLUMNS}) VALUES ({placeholders})", chunk)  # noqa: S608
        db.execute("COMMIT")
        done += len(chunk)
        print(f"  {done:>9,} alerts", file=sys.stderr, end="\r")
    db.execute("ANALYZE alerts")  # what migration 0010 does; the other tables are still small here
    db.close()
    print(f"\nloaded {count:,} alerts in {time.process_time() - started:.1f} s CPU", file=sys.stderr)
    _check_sample(home)
    marker.write_text(datetime.now(UTC).isoformat())


def _statistics_of_alerts_only(home: Path) -> None:
    """Drop planner statistics of every table but ``alerts`` (offices built before this fix ran a
    full ``ANALYZE`` while the audit log was empty).

    Statistics saying the audit log has one row make SQLite scan and sort the whole log for each
    "entries after N" read, e.g. on every automatic checkpoint: a cost growing with every bench
    run that no real office has (its migrations analyse ``alerts`` alone).
    """
    db = sqlite3.connect(home / "office.db", isolation_level=None)
    try:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            db.execute("DELETE FROM sqlite_stat1 WHERE tbl != 'alerts'")
    finally:
        db.close()


def _check_sample(home: Path) -> None:
    """Read a few rows back through the real store: the raw formats must be the store's own."""
    from watchhouse.storage.alert_store import AlertFilter, AlertStore

    store = AlertStore.sqlite(home / "office.db")
    try:
        found = store.query(AlertFilter(limit=5))
        assert len(found) == 5 and all(a.first_seen.tzinfo is not None for a in found)
        assert store.get(found[0].id) == found[0]
    finally:
        store.close()


# -- serving and loading ---------------------------------------------------------------------------


def serve(home: Path, port: int, nice: int = 0, workers: int = 1) -> None:
    """What ``watchhouse serve --home HOME --workers N`` runs, minus its access log."""
    if nice:
        os.nice(nice)  # before uvicorn starts its threads and workers, so they all inherit it

    from watchhouse.cli.serve_cmd import ServeTarget, run_server

    run_server(ServeTarget(str(home), None, secure_cookies=False), "127.0.0.1", port, workers, access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(base: str, server: subprocess.Popen[str], workers: int, seconds: float = 900) -> None:
    """Return once every server process has said "Application startup complete" (uvicorn's words
    after the app's start-up, warm-up included) and the port answers."""
    assert server.stderr is not None
    deadline = time.monotonic() + seconds
    ready = 0
    while ready < workers:
        line = server.stderr.readline()
        if not line:
            raise SystemExit("the server exited before it was ready")
        if time.monotonic() > deadline:
            raise SystemExit("the server did not come up")
        if "Application startup complete" in line:
            ready += 1
        elif "ERROR" in line or "Traceback" in line:
            print(line, end="", file=sys.stderr)
    threading.Thread(target=_drain, args=(server.stderr,), daemon=True).start()
    while True:  # one process binds its port only after its start-up
        try:
            httpx.get(f"{base}/login", timeout=5)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not come up") from None
            time.sleep(0.05)


def _drain(stream: Any) -> None:
    for line in stream:  # keep the pipe from filling; pass on anything that is not routine
        if not line.startswith("INFO:"):
            print(line, end="", file=sys.stderr)


def fsync_latency(folder: Path, rounds: int = 100) -> dict[str, float]:
    """p50/p99 of one 4 KiB write + fsync in ``folder``: every audited page view commits one.

    SQLite runs with ``synchronous = FULL`` (an acknowledged audit entry survives power loss), so
    a page's latency can never beat the disk's fsync; printed so the figures can be read against it.
    """
    probe = folder / ".fsync-probe"
    times = []
    with probe.open("wb") as handle:
        for _ in range(rounds):
            handle.write(b"\0" * 4096)
            handle.flush()
            started = time.perf_counter()
            os.fsync(handle.fileno())
            times.append(1000 * (time.perf_counter() - started))
    probe.unlink()
    times.sort()
    return {"p50_ms": times[rounds // 2], "p99_ms": times[(rounds * 99) // 100 - 1]}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its worker processes, from ``/proc``."""
    total = 0.0
    for one in (pid, *_children(pid)):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if not can_install():
        raise SystemExit("wrk is missing and cannot be installed here (needs root and apt-get)")
    apt_install(["wrk"])
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed with apt-get; install it and run again")
    return found


LUA = """
local paths = {%(paths)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1], {["Cookie"] = "%(cookie)s"})
end
local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("WRKJSON {\\"requests\\": %%d, \\"seconds\\": %%f, \\"p50_ms\\": %%f, \\"p90_ms\\": %%f, "
    .. "\\"p99_ms\\": %%f, \\"max_ms\\": %%f, \\"errors\\": %%d}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
      + summary.errors.timeout))
end
"""


def scenarios(client: httpx.Client) -> dict[str, list[str]]:
    """Each scenario is a rotation of request paths (one filter shape, several values)."""
    week_ago = (T_END - timedelta(days=7)).isoformat()
    day_ago = (T_END - timedelta(days=1)).isoformat()
    out = {
        "api queue (no filter)": ["/api/v1/alerts"],
        "api crime+severity": [
            "/api/v1/alerts?" + urlencode({"crime_code": c, "min_severity": s})
            for c in ("illegal_access", "system_interference", "computer_fraud")
            for s in ("medium", "high")
        ],
        "api status new": ["/api/v1/alerts?status=new", "/api/v1/alerts?status=new&min_severity=high"],
        "api detector": [f"/api/v1/alerts?detector={d[0]}" for d in DETECTORS[:5]],
        "api subject": [f"/api/v1/alerts?subject={s}" for s in ("198.51.0.1", "user00002", "198.51.0.5")],
        "api last week": [
            "/api/v1/alerts?" + urlencode({"since": week_ago}),
            "/api/v1/alerts?" + urlencode({"since": day_ago, "min_severity": "high"}),
        ],
        "console /alerts": ["/alerts", "/alerts?status=new&min_severity=high", "/alerts?crime_code=computer_fraud"],
    }
    first = client.get("/api/v1/alerts", params={"limit": 50}).json()
    cursor = first.get("next")
    if cursor:  # keyset pagination (absent before the triage indexes change)
        pages = []
        for _ in range(5):
            pages.append("/api/v1/alerts?" + urlencode({"after": cursor}))
            cursor = client.get("/api/v1/alerts", params={"after": cursor}).json().get("next")
            if not cursor:
                break
        out["api next pages (cursor)"] = pages
    return out


def run_wrk(wrk: str, base: str, cookie: str, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "cookie": cookie})
    try:
        done = subprocess.run(
            [
                *(["nice", "-n", str(args.nice)] if args.nice else []),
                wrk,
                f"-t{args.threads}",
                f"-c{args.connections}",
                f"-d{args.duration}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                base,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        Path(script.name).unlink()
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, help="office folder (cached between runs)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", help="run only scenarios whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness for server and wrk (e.g. -10 as root: measure the app, not a crowded machine's scheduler)",
    )
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="server processes (default: what `watchhouse serve` uses)"
    )
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), int(args.serve[2]), int(args.serve[3]))
        return
    home = args.home or Path.home() / ".cache" / "watchhouse-bench" / f"triage-{args.alerts}"
    build(home, args.alerts)
    wrk = ensure_wrk()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(home), str(port), str(args.nice), str(args.workers)],
        stderr=subprocess.PIPE,
        text=True,
    )
    results: dict[str, Any] = {}
    disk = fsync_latency(home)
    print(f"fsync in {home}: p50 {disk['p50_ms']:.1f} ms, p99 {disk['p99_ms']:.1f} ms")
    try:
        wait_up(base, server, args.workers)
        print(f"server ready ({args.workers} worker(s)); timing starts now")
        with httpx.Client(base_url=base, timeout=60) as client:
            answer = client.post("/api/v1/session", json={"username": USER, "password": PASSWORD})
            answer.raise_for_status()
            cookie = f"wh_session={client.cookies['wh_session']}"
            plan = scenarios(client)
        print(
            f"{'scenario':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'cpu ms/req':>10} {'errors':>6}"
        )
        for name, paths in plan.items():
            if args.only and args.only not in name:
                continue
            cpu_before = cpu_seconds(server.pid)
            got = run_wrk(wrk, base, cookie, paths, args)
            got["nice"] = args.nice
            cpu = cpu_seconds(server.pid) - cpu_before
            got["server_cpu_ms_per_request"] = 1000 * cpu / max(got["requests"], 1)
            got["rps"] = got["requests"] / got["seconds"]
            results[name] = got
            print(
                f"{name:<28} {got['rps']:>8.1f} {got['p50_ms']:>8.1f} {got['p99_ms']:>8.1f} {got['max_ms']:>8.1f} "
                f"{got['server_cpu_ms_per_request']:>10.2f} {got['errors']:>6}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.json:
        args.json.write_text(json.dumps({"alerts": args.alerts, "fsync": disk, "results": results}, indent=2))


if __name__ == "__main__":
    main()
