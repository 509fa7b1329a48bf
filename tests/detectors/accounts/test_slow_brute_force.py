"""Tests for ``accounts.slow_brute_force``: the conformance contract, each rule, bounded state, a real log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from watchhouse.cli.eval_accounts_cmd import read_auth
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage
from watchhouse.detectors.accounts.slow_brute_force import SlowBruteForceDetector
from watchhouse.ingest import ReaderOptions
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

MINUTE = 60.0


def at(seconds: float) -> datetime:
    return BASE_TIME + timedelta(seconds=seconds)


def event(t: float, ip: str, user: str, outcome: str = "failure") -> dict[str, Any]:
    return {"@timestamp": at(t), "source.ip": ip, "user.name": user, "event.outcome": outcome, "service.name": "sshd"}


def paced(
    n: int, *, ip: str = "203.0.113.9", step: float = 20 * MINUTE, t0: float = 0, users: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """``n`` failures from ``ip`` every ``step`` seconds, one account after another (CrowdSec's example shape)."""
    names = users or ["root", "mysql", "oracle", "postgres", "admin", "test", "guest", "ubuntu", "pi", "git"]
    return [event(t0 + i * step, ip, names[i % len(names)]) for i in range(n)]


def batch(rows: Sequence[dict[str, Any]]) -> EventBatch:
    return make_batch(Dataset.AUTH, rows)


def run(rows: Sequence[dict[str, Any]], **options: Any) -> list[Finding]:
    return run_detector(SlowBruteForceDetector(**options), [batch(rows)])


def interleave(*streams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((row for stream in streams for row in stream), key=lambda r: r["@timestamp"])


class TestSlowBruteForceConformance(DetectorConformance):
    detector_class = SlowBruteForceDetector

    def positive_cases(self) -> list[SampleCase]:
        noise = [event(i * 7.0, f"198.51.100.{i % 50}", f"u{i}", "success") for i in range(200)]
        return [
            SampleCase.of("four accounts, one every twenty minutes", batch(paced(4))),
            SampleCase.of("amid other traffic", batch(interleave(paced(6, step=5 * MINUTE), noise))),
            SampleCase.of("one account, eight times, every ten minutes", batch(paced(8, step=600, users=["root"]))),
            SampleCase.of("across two batches", batch(paced(2)), batch(paced(3, t0=40 * MINUTE))),
            SampleCase.of("a burst, then paced", batch(burst_then_paced())),
        ]

    def negative_cases(self) -> list[SampleCase]:
        burst = paced(30, step=2)  # a burst: the burst detector's case, not a schedule
        irregular = [event(t * MINUTE, "203.0.113.9", f"u{i}") for i, t in enumerate((0, 2, 30, 31, 55, 58))]
        knows = interleave(paced(6, step=5 * MINUTE), [event(12 * MINUTE, "203.0.113.9", "deploy", "success")])
        return [
            SampleCase.of("three paced failures", batch(paced(3))),
            SampleCase.of("fast burst", batch(burst)),
            SampleCase.of("irregular gaps", batch(irregular)),
            SampleCase.of("owner retries one account five times", batch(paced(5, step=600, users=["alice"]))),
            SampleCase.of("tries two hours apart", batch(paced(5, step=2 * 3600))),
            SampleCase.of("the address logs in between its failures", batch(knows)),
        ]


def test_finding_explains_the_pacing_and_lists_every_attempt() -> None:
    rows = paced(5)
    findings = run(rows)
    assert len(findings) == 1
    f = findings[0]
    assert (f.subject.kind, f.subject.value) == ("source.ip", "203.0.113.9")
    assert (f.stage, f.severity) == (Stage.ATTEMPTED, Severity.MEDIUM)
    # raised when the fourth failure arrives, while the attack is going on
    assert f.details["failures"] == 4 and f.details["distinct_accounts"] == 4
    assert f.details["mean_gap_seconds"] == 1200.0
    assert f.first_seen == at(0) and f.last_seen == at(3 * 20 * MINUTE)
    assert [e.line for e in f.evidence] == [1, 2, 3, 4]
    assert "20m" in f.title and "timer" in f.explanation
    assert f.details["sample_accounts"] == ["mysql", "oracle", "postgres", "root"]


def test_an_irregular_gap_restarts_the_run_at_the_previous_failure() -> None:
    # 1 min, then 10 min (irregular), then 10, 10: the run is the last four failures
    times = (0, 1, 11, 21, 31)
    rows = [event(t * MINUTE, "203.0.113.9", f"u{i}") for i, t in enumerate(times)]
    (f,) = run(rows)
    assert f.first_seen == at(MINUTE) and [e.line for e in f.evidence] == [2, 3, 4, 5]


def burst_then_paced() -> list[dict[str, Any]]:
    """Failures 50 s apart (too fast to be paced), then one every 100 s."""
    return [event(t, "203.0.113.9", f"u{i}") for i, t in enumerate((0, 50, 100, 200, 300, 400))]


def test_a_run_starts_after_the_last_failure_of_a_burst() -> None:
    # 0 -> 100 would look paced if the failure at 50 were forgotten: it must not be
    (f,) = run(burst_then_paced())
    assert f.first_seen == at(100) and [e.line for e in f.evidence] == [3, 4, 5, 6]


def test_one_finding_per_run_and_a_new_one_after_a_break() -> None:
    rows = paced(6) + paced(4, t0=6 * 20 * MINUTE + 5 * 3600)
    findings = run(rows)
    assert [f.details["failures"] for f in findings] == [4, 4]
    assert findings[0].first_seen == at(0) and findings[1].first_seen == at(6 * 20 * MINUTE + 5 * 3600)


def test_thresholds_are_options() -> None:
    assert not run(paced(4), min_attempts=5)
    assert run(paced(5), min_attempts=5)
    assert not run(paced(4, step=30 * MINUTE), max_gap_seconds=25 * MINUTE)


def test_a_flood_of_single_failures_keeps_no_per_address_records() -> None:
    detector = SlowBruteForceDetector(sightings_bits=12)
    table_bytes = detector.sightings.nbytes
    for part in range(5):
        rows = [event(part * 600 + i * 0.01, f"10.{part}.{i // 256}.{i % 256}", "u") for i in range(20_000)]
        assert detector.detect(batch(rows)) == []
    assert detector.open_keys == 0
    assert detector.sightings.nbytes == table_bytes == (1 << 12) * 36  # 36 bytes a slot, however many addresses


def test_a_slow_attacker_is_found_among_single_failures_of_many_others() -> None:
    detector = SlowBruteForceDetector()
    findings: list[Finding] = []
    for k, row in enumerate(paced(4, ip="192.0.2.77")):
        t = (row["@timestamp"] - BASE_TIME).total_seconds()
        others = [event(t + 0.001 * (i + 1), f"10.{k}.{i // 256}.{i % 256}", "root") for i in range(5000)]
        findings += detector.detect(batch([row, *others]))
    assert [f.subject.value for f in findings] == ["192.0.2.77"]
    # the first failure came from the table of single failures: its line is still evidence
    assert findings[0].evidence[0] == EventRef("samples/test.log", 1, None)


def test_at_most_max_runs_are_kept_the_least_recently_extended_dropped() -> None:
    """Two addresses each two paced failures in: with room for one run, the one extended first is
    dropped, and its third failure starts over (no finding at its fourth); the other goes on."""
    a, b = "192.0.2.1", "192.0.2.2"
    first = interleave(paced(2, ip=a), paced(2, ip=b, t0=60))
    later = interleave(paced(2, ip=a, t0=40 * MINUTE), paced(2, ip=b, t0=40 * MINUTE + 60))
    for max_runs, expected in ((1, [b]), (2, [a, b])):
        detector = SlowBruteForceDetector(max_runs=max_runs)
        assert detector.detect(batch(first)) == [] and detector.open_keys == max_runs
        assert sorted(f.subject.value for f in detector.detect(batch(later))) == expected


def test_checkpoint_survives_json_and_keeps_the_table() -> None:
    first = SlowBruteForceDetector(sightings_bits=10)
    assert first.detect(batch(paced(1))) == [] and first.open_keys == 0  # one failure: in the table
    state = json.loads(json.dumps(first.checkpoint()))
    resumed = SlowBruteForceDetector(sightings_bits=10)
    resumed.restore(state)
    found = resumed.detect(batch(paced(3, t0=20 * MINUTE)))
    assert len(found) == 1 and found[0].first_seen == at(0)
    with pytest.raises(ValueError, match="bits"):
        SlowBruteForceDetector(sightings_bits=11).restore(state)


@pytest.mark.corpus
def test_crowdsec_time_based_example_flags_only_the_paced_address(corpora: Path) -> None:
    log = corpora / "logs/ssh_bruteforce/crowdsec_hub_tests/ssh-time-based-bf/ssh-time-based-bf.log"
    detector = SlowBruteForceDetector()
    findings = run_detector(detector, read_auth([log], ReaderOptions(fmt="syslog", year=2026)))
    # .100 stops after three tries, .102 logs in between, .103 is a burst then a pause
    assert [f.subject.value for f in findings] == ["10.0.0.101"]
    assert findings[0].details["distinct_accounts"] == 4 and [e.line for e in findings[0].evidence] == [4, 5, 6, 7]
