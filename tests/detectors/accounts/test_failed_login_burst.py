"""Tests for ``accounts.failed_login_burst``: the conformance contract, the samples, each rule.

Samples are JSON-lines files of ``auth`` events keyed by ECS field name; ``#`` lines annotate them
(``# expect: N`` findings, ``# expect-stage:``, ``# expect-severity:``, ``# expect-subject:``).
Each event keeps its file line number as ``log.file.line`` so evidence can be checked by line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from watchhouse.core.alerts import alert_id
from watchhouse.core.events import LINE_FIELD, PATH_FIELD, TIMESTAMP_FIELD, Dataset, EventBatch
from watchhouse.core.findings import EventRef, Finding, Severity, Stage
from watchhouse.detectors.accounts.failed_login_burst import FailedLoginBurstDetector
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch, split_batch

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "tests" / "samples" / "accounts.failed_login_burst"


@dataclass(frozen=True)
class Sample:
    name: str
    batch: EventBatch
    expect: dict[str, str] = field(default_factory=dict)
    lines: tuple[int, ...] = ()  # line numbers of the events


def load_sample(path: Path) -> Sample:
    rel = path.relative_to(REPO).as_posix()
    rows = []
    lines = []
    expect: dict[str, str] = {}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = text.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if body.startswith("expect") and ":" in body:
                name, value = body.split(":", 1)
                expect[name.strip()] = value.strip()
            continue
        row = json.loads(stripped)
        row[TIMESTAMP_FIELD] = datetime.fromisoformat(row[TIMESTAMP_FIELD])
        row[PATH_FIELD] = rel
        row[LINE_FIELD] = number
        rows.append(row)
        lines.append(number)
    return Sample(path.stem, make_batch(Dataset.AUTH, rows, path=rel), expect, tuple(lines))


def load_samples(prefix: str) -> list[Sample]:
    return [load_sample(p) for p in sorted(SAMPLES.glob(f"{prefix}_*.jsonl"))]


POSITIVES = load_samples("positive")
NEGATIVES = load_samples("negative")


def at(seconds: float) -> datetime:
    return BASE_TIME + timedelta(seconds=seconds)


def fail(t: float, ip: str | None = "203.0.113.1", user: str | None = "p-aaaa", service: str = "web") -> dict[str, Any]:
    return {
        "@timestamp": at(t),
        "source.ip": ip,
        "user.name": user,
        "event.outcome": "failure",
        "service.name": service,
    }


def ok(t: float, ip: str | None = "203.0.113.1", user: str | None = "p-aaaa", service: str = "web") -> dict[str, Any]:
    return {
        "@timestamp": at(t),
        "source.ip": ip,
        "user.name": user,
        "event.outcome": "success",
        "service.name": service,
    }


def batch(rows: Sequence[dict[str, Any]]) -> EventBatch:
    return make_batch(Dataset.AUTH, rows)


def run(rows: Sequence[dict[str, Any]], **options: Any) -> list[Finding]:
    return run_detector(FailedLoginBurstDetector(**options), [batch(rows)])


def by_kind(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.subject.kind == kind]


def spread_accounts(n: int, t0: float = 0, step: float = 10, ip: str = "203.0.113.1") -> list[dict[str, Any]]:
    """``n`` failures from one address, each against another account (only the address counts)."""
    return [fail(t0 + i * step, ip=ip, user=f"p-{i:04d}") for i in range(n)]


def spread_sources(n: int, t0: float = 0, step: float = 10, user: str = "p-victim") -> list[dict[str, Any]]:
    """``n`` failures against one account, each from another address (only the account counts)."""
    return [fail(t0 + i * step, ip=f"198.51.100.{i}", user=user) for i in range(n)]


class TestFailedLoginBurstConformance(DetectorConformance):
    detector_class = FailedLoginBurstDetector

    def positive_cases(self) -> list[SampleCase]:
        cases = [SampleCase.of(s.name, s.batch) for s in POSITIVES]
        late = spread_accounts(20)
        late.insert(5, late.pop(8))  # t=80 arrives before t=50..70: 30 s out of order, within lateness
        cases.append(SampleCase.of("generated: one out-of-order failure within lateness", batch(late)))
        cases.append(SampleCase.of("generated: large burst", batch(spread_accounts(250, step=1))))
        cases.append(SampleCase.of("generated: two batches", batch(spread_sources(6)), batch(spread_sources(6, t0=61))))
        return cases

    def negative_cases(self) -> list[SampleCase]:
        cases = [SampleCase.of(s.name, s.batch) for s in NEGATIVES]
        cases.append(SampleCase.of("generated: 19 from one address", batch(spread_accounts(19))))
        cases.append(
            SampleCase.of(
                "generated: other outcomes only", batch([{**ok(i), "event.outcome": "unknown"} for i in range(50)])
            )
        )
        return cases


@pytest.mark.parametrize("sample", POSITIVES + NEGATIVES, ids=lambda s: s.name)
def test_sample_annotations(sample: Any) -> None:
    findings = run_detector(FailedLoginBurstDetector(), [sample.batch])
    expected = int(sample.expect.get("expect", "0"))
    assert len(findings) == expected, [f.title for f in findings]
    for f in findings:
        if "expect-stage" in sample.expect:
            assert f.stage == Stage(sample.expect["expect-stage"])
        if "expect-severity" in sample.expect:
            assert f.severity == Severity.parse(sample.expect["expect-severity"])
        if "expect-subject" in sample.expect:
            assert f.subject.kind == sample.expect["expect-subject"]


def test_threshold_reached_exactly_fires_and_one_short_does_not() -> None:
    assert len(by_kind(run(spread_sources(10)), "user.name")) == 1
    assert run(spread_sources(9)) == []
    assert len(by_kind(run(spread_accounts(20)), "source.ip")) == 1
    assert run(spread_accounts(19)) == []


def test_peak_window_is_inclusive_at_its_edge() -> None:
    # 10 failures 10 s apart span exactly 90 s
    assert run(spread_sources(10), window_seconds=90)
    assert run(spread_sources(10), window_seconds=89.999) == []


def test_a_gap_of_exactly_the_window_continues_the_burst_and_longer_splits_it() -> None:
    (f,) = run([*spread_sources(10, step=1), fail(9 + 600, ip="198.51.100.77", user="p-victim")])
    assert len(f.evidence) == 11 and f.details["peak_in_window"] == 10
    (f,) = run([*spread_sources(10, step=1), fail(9 + 600.001, ip="198.51.100.77", user="p-victim")])
    assert len(f.evidence) == 10


def test_slow_failures_never_reach_the_threshold() -> None:
    assert run(spread_sources(30, step=601)) == []


def test_out_of_order_failure_within_lateness_counts() -> None:
    rows = [*spread_sources(9), ok(200, ip="192.0.2.1", user="p-other"), fail(150, ip="198.51.100.99", user="p-victim")]
    # the last failure arrives after an event at t=200: 50 s late, lateness 60 s -> admitted
    assert len(run(rows)) == 1


def test_failure_later_than_the_lateness_is_ignored() -> None:
    rows = [*spread_sources(9), ok(200, ip="192.0.2.1", user="p-other"), fail(85, ip="198.51.100.99", user="p-victim")]
    assert run(rows) == []  # 115 s late
    assert len(run(rows, allowed_lateness_seconds=120)) == 1


def test_success_after_burst_completes_it_and_is_evidence() -> None:
    rows = [*spread_sources(10), ok(200, ip="198.51.100.3", user="p-victim")]
    (f,) = run(rows)
    assert f.stage == Stage.COMPLETED and f.severity == Severity.CRITICAL
    assert EventRef("samples/test.log", 11) in f.evidence
    assert f.last_seen == at(200)
    assert f.details["successes"] == 1 and f.details["failure_ratio"] == pytest.approx(10 / 11, abs=1e-4)


def test_success_from_an_address_not_guessing_is_high_not_critical() -> None:
    (f,) = run([*spread_sources(10), ok(200, ip="192.0.2.200", user="p-victim")])
    assert f.stage == Stage.COMPLETED and f.severity == Severity.HIGH


def test_address_success_for_another_account_is_high_and_for_a_guessed_one_critical() -> None:
    (f,) = run([*spread_accounts(20), ok(300, user="p-unrelated")])
    assert (f.stage, f.severity) == (Stage.COMPLETED, Severity.HIGH)
    (f,) = run([*spread_accounts(20), ok(300, user="p-0007")])
    assert (f.stage, f.severity) == (Stage.COMPLETED, Severity.CRITICAL)


def test_success_outside_the_range_does_not_complete() -> None:
    after = 90 + 600 + 1
    (f,) = run(
        [ok(-5, ip="198.51.100.1", user="p-victim"), *spread_sources(10), ok(after, ip="198.51.100.1", user="p-victim")]
    )
    assert f.stage == Stage.ATTEMPTED and f.severity == Severity.MEDIUM
    assert len(f.evidence) == 10


def test_success_arriving_before_an_out_of_order_failure_still_counts() -> None:
    # the success (t=100) arrives first; the failure at t=90 arriving after it opens the burst
    rows = [ok(100, ip="198.51.100.2", user="p-victim"), fail(90, ip="198.51.100.9", user="p-victim")]
    rows += spread_sources(9, t0=110)
    for size in (1, 2, 11):
        findings = run_detector(FailedLoginBurstDetector(), split_batch(batch(rows), size))
        assert [f.stage for f in findings] == [Stage.COMPLETED]


def test_very_large_unsuccessful_burst_is_high() -> None:
    (f,) = run(spread_accounts(200, step=1))
    assert (f.stage, f.severity) == (Stage.ATTEMPTED, Severity.HIGH)
    assert f.confidence == pytest.approx(0.99)
    (f,) = run(spread_accounts(199, step=1))
    assert f.severity == Severity.MEDIUM and 0.6 <= f.confidence < 0.99


def test_two_bursts_are_two_findings_with_their_own_ids() -> None:
    findings = run(spread_accounts(20) + spread_accounts(20, t0=5000))
    assert len(findings) == 2
    assert len({alert_id(f.detector, f.key) for f in findings}) == 2
    assert sorted(f.first_seen for f in findings) == [at(0), at(5000)]


def test_address_and_account_both_fire_on_one_burst() -> None:
    findings = run([fail(i * 5, ip="203.0.113.9", user="p-victim") for i in range(25)])
    assert {f.subject.kind for f in findings} == {"source.ip", "user.name"}


def test_sshd_and_web_count_together_per_address_but_apart_per_account() -> None:
    # 9 sshd + 9 web failures for one account name from one address
    rows = [fail(i * 5, ip="203.0.113.9", user="p-root", service="sshd" if i % 2 else "web") for i in range(18)]
    findings = run(rows, ip_threshold=18)
    assert [f.subject.kind for f in findings] == ["source.ip"]
    assert findings[0].details["services"] == ["sshd", "web"]


def test_evidence_holds_every_failure_uncapped() -> None:
    rows = spread_accounts(1500, step=0.2)
    (f,) = run(rows)
    assert {r.line for r in f.evidence} == set(range(1, 1501))
    assert f.details["failures"] == 1500 and len(f.details["sample_accounts"]) == 20


def test_ids_are_stable_and_keyed_on_the_first_failure() -> None:
    rows = spread_sources(12)
    first, second = run(rows), run(rows)
    assert [f.key for f in first] == [f.key for f in second]
    assert first[0].key == f"user.name:p-victim:{at(0).isoformat()}:samples/test.log:1"


def test_burst_is_emitted_by_detect_once_time_passes_it() -> None:
    detector = FailedLoginBurstDetector()
    assert detector.detect(batch(spread_sources(10))) == []
    later = make_batch(Dataset.AUTH, [ok(90 + 600 + 60 + 1, ip="192.0.2.1", user="p-x")], first_line=100)
    assert len(detector.detect(later)) == 1
    assert detector.finalize() == []


def test_checkpoint_round_trip_mid_burst() -> None:
    rows = [*spread_sources(12), ok(150, ip="198.51.100.4", user="p-victim")]
    whole = run(rows)
    b = batch(rows)
    first = FailedLoginBurstDetector()
    assert first.detect(b.slice(0, 6)) == []
    state = json.loads(json.dumps(first.checkpoint()))
    resumed = FailedLoginBurstDetector()
    resumed.restore(state)
    after = run_detector(resumed, [b.slice(6)])
    assert [(f.key, f.evidence, f.stage, f.severity, f.title) for f in after] == [
        (f.key, f.evidence, f.stage, f.severity, f.title) for f in whole
    ]


def test_restore_rejects_unknown_state_version() -> None:
    state = FailedLoginBurstDetector().checkpoint()
    state["tracker"]["version"] = 99
    with pytest.raises(ValueError, match="version"):
        FailedLoginBurstDetector().restore(state)


def test_state_stays_bounded_with_many_one_off_failures() -> None:
    n = 100_000
    detector = FailedLoginBurstDetector()
    rows = {
        "@timestamp": [at(i) for i in range(n)],
        "log.file.path": ["synthetic"] * n,
        "log.file.line": list(range(1, n + 1)),
        "source.ip": [f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(n)],
        "user.name": [f"p-{i:016x}" for i in range(n)],
        "event.outcome": ["failure"] * n,
        "service.name": ["web"] * n,
    }
    big = EventBatch.from_columns(Dataset.AUTH, rows)
    for piece in split_batch(big, 10_000):
        assert detector.detect(piece) == []
    # only keys whose last failure is within window + lateness of the newest event remain
    assert detector.open_keys <= 2 * (600 + 60 + 1)
    # a much later event in the same file moves its watermark past every open window
    later = [ok(n + 86_400, ip="192.0.2.1", user="p-x")]
    detector.detect(make_batch(Dataset.AUTH, later, path="synthetic", first_line=n + 1))
    assert detector.open_keys == 0
    state = detector.checkpoint()["tracker"]
    assert len(state["failures"]["key"]) == 0 and len(state["successes"]["key"]) <= 2
    assert detector.finalize() == []


def test_rows_without_time_or_keys_are_ignored() -> None:
    rows = [{**fail(i), "@timestamp": None} for i in range(30)]
    # make_batch fills missing timestamps, so null them through the table itself
    b = batch(rows)
    table = b.table.set_column(0, "@timestamp", b.table.column(0).cast("int64").cast(b.table.schema.field(0).type))
    assert run_detector(FailedLoginBurstDetector(), [EventBatch(Dataset.AUTH, table)])
    nulls = [fail(i, ip=None, user=None) for i in range(30)]
    assert run(nulls) == []


def test_bad_options_are_refused() -> None:
    from watchhouse.core.errors import DetectorError

    with pytest.raises(DetectorError):
        FailedLoginBurstDetector(window_seconds=0)
    with pytest.raises(DetectorError):
        FailedLoginBurstDetector(ip_threshold=1)


@pytest.mark.corpus
def test_loghub_openssh_top_failing_source_is_reported(corpora: Path) -> None:
    ingest = pytest.importorskip("watchhouse.ingest")
    from watchhouse.core.identity import Pseudonymizer

    log = corpora / "logs" / "ssh_bruteforce" / "loghub" / "OpenSSH" / "OpenSSH_2k.log"
    if not log.is_file():
        pytest.skip(f"{log} is absent")
    reader = ingest.SourceReader(str(log), ingest.ReaderOptions(), ingest.Quarantine(None), Pseudonymizer(b"k" * 32))
    findings = run_detector(FailedLoginBurstDetector(), list(reader.batches()))
    top = [f for f in findings if f.subject.kind == "source.ip" and f.subject.value == "183.62.140.253"]
    assert top, [f.title for f in findings]
    assert top[0].severity >= Severity.HIGH and top[0].details["failures"] >= 500


def test_each_file_keeps_its_own_clock() -> None:
    """A day of web logins read first must not make a morning sshd log read next look late."""
    detector = FailedLoginBurstDetector(ip_threshold=5)
    web_day = [ok(3600 * h, ip=f"198.51.100.{h}", user=f"p-{h}") for h in range(24)]
    assert detector.detect(make_batch(Dataset.AUTH, web_day, path="auth.jsonl")) == []
    guesses = [fail(60 + i, ip="203.0.113.7", user=f"p-guess{i}") for i in range(8)]
    findings = detector.detect(make_batch(Dataset.AUTH, guesses, path="sshd.log")) + detector.finalize()
    assert [(f.subject.value, len(f.evidence)) for f in findings if f.subject.kind == "source.ip"] == [
        ("203.0.113.7", 8)
    ]
