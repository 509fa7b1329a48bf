"""Writing alerts as JSON lines: ``Alert.to_json`` against ``orjson.dumps(alert.to_dict())``, and
the whole output path of a batch held as rows against the same path through objects.

Every alert a scan writes to ``--out`` becomes one line. On an attack-heavy input (the CRS
regression requests are nine in ten attacks) that line costs about as much as detecting the
request, so both spellings are timed here on the same alerts, alternating round by round on this
noisy machine, and the best round of each is compared. Both must give the same bytes: the script
checks every line before it times anything.

The second comparison (ADR 0013) times a batch whose verdicts are remembered (as in a campaign,
or the requests cycled): detection answering from memory, the findings, post-processing and
lines, once with the finding and alert objects made (``process`` and ``to_json``), once with the
findings held as rows (``process_parts`` and ``json_lines``). The two must write the same bytes.

The third times the line writer alone on the same rows: the compiled one (``_native._weblines``,
ADR 0012) against its Python reference, which must write the same bytes.

Usage: ``.venv/bin/python bench/alert_lines.py [--rounds 7]``. Needs ``../shared/corpora/crs-tests``;
without it, it says so and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

from watchhouse.core.alerts import Alert
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.identity import Pseudonymizer
from watchhouse.detect.postprocess import PostProcessor
from watchhouse.detectors.web.attack_patterns import WebAttackDetector
from watchhouse.ingest import Quarantine, ReaderOptions
from watchhouse.ingest.reader import SourceReader

ROOT = Path(__file__).resolve().parent.parent
CRS_REQUESTS = ROOT.parent / "shared" / "corpora" / "crs-tests" / "derived" / "crs_requests.jsonl"


def crs_batches() -> list[EventBatch]:
    """The CRS requests, read as full-request lines through the normal ingest path."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from modsec_compare import crs_requests

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requests.jsonl"
        path.write_text("".join(json.dumps(r.ecs(i)) + "\n" for i, r in enumerate(crs_requests())))
        with Quarantine(None) as quarantine:
            reader = SourceReader(
                str(path), ReaderOptions(fmt="jsonl", dataset=Dataset.HTTP), quarantine, Pseudonymizer(b"k" * 24)
            )
            return list(reader.batches(None))


def crs_alerts(batches: Sequence[EventBatch]) -> list[Alert]:
    """The web detector's alerts (default settings) for the CRS requests."""
    detector = WebAttackDetector()
    findings = [finding for batch in batches for finding in detector.detect(batch)]
    return PostProcessor({detector.info.name: detector.info.version}).process(findings)


def output_paths(batches: Sequence[EventBatch], rounds: int) -> tuple[list[float], list[float], int]:
    """CPU µs per alert of a warm detector's batches (detection from remembered verdicts, findings,
    post-processing and lines), through objects and through rows, alternating round by round; and
    the alerts of a round."""
    detector = WebAttackDetector()
    for batch in batches:  # judged once: every round answers from the remembered verdicts
        detector.detect(batch)
    versions = {detector.info.name: detector.info.version}

    def objects() -> bytes:
        post = PostProcessor(versions)
        return b"".join(a.to_json() for batch in batches for a in post.process(list(detector._detect(batch))))

    def rows() -> bytes:
        post = PostProcessor(versions)
        return b"".join(post.process_parts([detector._detect(batch)]).json_lines() for batch in batches)

    lines = objects()
    if rows() != lines:
        raise SystemExit("the rows and the objects write different lines; nothing was measured")
    alerts = lines.count(b"\n")
    through_objects: list[float] = []
    through_rows: list[float] = []
    for _ in range(rounds):
        for spent, path in ((through_objects, objects), (through_rows, rows)):
            started = time.process_time()
            path()
            spent.append((time.process_time() - started) / alerts * 1e6)
    return through_objects, through_rows, alerts


def line_writers(batches: Sequence[EventBatch], rounds: int) -> tuple[list[float], list[float], int] | None:
    """CPU µs per line of writing every flagged row's line from the rows, by the compiled writer
    (``_native._weblines``) and by its Python reference, alternating round by round; None where
    the compiled writer is not built. Each round starts from empty memories, as a new batch does."""
    from watchhouse._native import weblines
    from watchhouse.core.alerts import alert_ids_of
    from watchhouse.detectors.web.findings import WebFindingRows

    if weblines is None:
        return None
    detector = WebAttackDetector()
    held = [rows for batch in batches if isinstance(rows := detector._detect(batch), WebFindingRows)]
    work = [(rows, list(range(len(rows))), alert_ids_of(rows.detector, rows.keys)) for rows in held]

    def write(reference: bool) -> bytes:
        out = []
        for rows, indices, ids in work:
            rows._shown.clear()
            rows._agents_shown.clear()
            rows._stamps.clear()
            spell = rows._alert_lines_reference if reference else rows.alert_lines
            out.append(spell(indices, ids, "2"))
        return b"".join(out)

    lines = write(True)
    if write(False) != lines:
        raise SystemExit("the compiled writer and its reference write different lines; nothing was measured")
    count = lines.count(b"\n")
    compiled: list[float] = []
    python: list[float] = []
    for _ in range(rounds):
        for spent, reference in ((python, True), (compiled, False)):
            started = time.process_time()
            write(reference)
            spent.append((time.process_time() - started) / count * 1e6)
    return python, compiled, count


def best_round(alerts: Sequence[Alert], spell: Callable[[Alert], bytes], rounds: int) -> float:
    """The fastest of ``rounds`` passes, in CPU microseconds per alert."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for alert in alerts:
            spell(alert)
        best = min(best, time.process_time() - started)
    return best / len(alerts) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per spelling (default 7)")
    args = parser.parse_args(argv)
    if not CRS_REQUESTS.exists():
        print(f"needs the CRS regression requests at {CRS_REQUESTS}; nothing was measured", file=sys.stderr)
        return 2
    batches = crs_batches()
    alerts = crs_alerts(batches)

    def plain(alert: Alert) -> bytes:
        return orjson.dumps(alert.to_dict()) + b"\n"

    differ = sum(1 for alert in alerts if alert.to_json() != plain(alert))
    if differ:
        print(f"{differ} of {len(alerts)} alerts are written differently by the two spellings", file=sys.stderr)
        return 1
    plain_us: list[float] = []
    fast_us: list[float] = []
    for _ in range(args.rounds):
        plain_us.append(best_round(alerts, plain, 1))
        fast_us.append(best_round(alerts, Alert.to_json, 1))
    size = sum(len(alert.to_json()) for alert in alerts) / len(alerts)
    print(f"{len(alerts)} alerts of the CRS requests, {size:,.0f} bytes a line, identical in both spellings")
    print(f"orjson.dumps(alert.to_dict()): best {min(plain_us):.2f} µs/alert (rounds: {_spread(plain_us)})")
    print(f"alert.to_json():               best {min(fast_us):.2f} µs/alert (rounds: {_spread(fast_us)})")
    print(f"ratio: to_json is {min(plain_us) / min(fast_us):.2f}x the plain spelling's speed")
    through_objects, through_rows, count = output_paths(batches, args.rounds)
    print(f"\na warm batch: detection from memory, findings, post-processing, lines ({count} alerts, same bytes):")
    print(f"through objects: best {min(through_objects):.2f} µs/alert (rounds: {_spread(through_objects)})")
    print(f"through rows:    best {min(through_rows):.2f} µs/alert (rounds: {_spread(through_rows)})")
    print(f"ratio: rows are {min(through_objects) / min(through_rows):.2f}x the objects' speed")
    writers = line_writers(batches, args.rounds)
    if writers is None:
        print("\nthe compiled line writer is not built here: only the Python one runs")
        return 0
    python, compiled, lines = writers
    print(f"\nwriting the rows' lines ({lines} lines, same bytes):")
    print(f"Python reference: best {min(python):.2f} µs/line (rounds: {_spread(python)})")
    print(f"compiled writer:  best {min(compiled):.2f} µs/line (rounds: {_spread(compiled)})")
    print(f"ratio: the compiled writer is {min(python) / min(compiled):.2f}x the reference's speed")
    return 0


def _spread(values: Sequence[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}"


if __name__ == "__main__":
    sys.exit(main())
