"""Sigma correlation rules (our own YAML) over generated Windows Security events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchhouse.core.alerts import alert_id
from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding
from watchhouse.detectors.sigma.rules import EVIDENCE_CAP, SigmaRulesDetector
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector
from watchhouse.testing.factories import split_batch

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

BASE = """
title: Failed logon
id: 0c1e4a10-0000-4000-8000-000000000001
name: failed_logon
status: test
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
---
title: Successful logon
id: 0c1e4a10-0000-4000-8000-000000000002
name: successful_logon
status: test
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
        LogonType: '3'
    condition: selection
level: informational
"""

BRUTE = """
title: Many failed logons from one address
id: 0c1e4a10-0000-4000-8000-0000000000a1
status: test
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 5m
    condition:
        gte: 5
level: medium
"""

SPRAY = """
title: One address tries many accounts
id: 0c1e4a10-0000-4000-8000-0000000000a2
status: test
correlation:
    type: value_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 10m
    condition:
        field: TargetUserName
        gte: 4
level: high
"""

BREAK_IN = """
title: Failures then a success from one address
id: 0c1e4a10-0000-4000-8000-0000000000a3
status: test
correlation:
    type: temporal_ordered
    rules:
        - failed_logon
        - successful_logon
    group-by:
        - source
    timespan: 10m
    aliases:
        source:
            failed_logon: IpAddress
            successful_logon: IpAddress
    generate: true
level: high
"""

BOTH = """
title: Failure and success in any order
id: 0c1e4a10-0000-4000-8000-0000000000a4
status: test
correlation:
    type: temporal
    rules:
        - successful_logon
        - failed_logon
    group-by:
        - IpAddress
    timespan: 10m
level: low
"""


def pack(tmp: Path, *correlations: str) -> Path:
    folder = tmp / "pack"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.yml").write_text(BASE)
    for number, text in enumerate(correlations):
        (folder / f"corr{number}.yml").write_text(text)
    return folder


Event = tuple[float, int, str, str]  # (seconds after T0, event id, ip, user)


def winlog(events: list[Event], path: str = "Security.json") -> EventBatch:
    n = len(events)
    data = [
        json.dumps({"IpAddress": ip, "TargetUserName": user, "LogonType": "3", "SubjectUserSid": "S-1-5-18"})
        for _, _, ip, user in events
    ]
    return EventBatch.from_columns(
        Dataset.WINLOG,
        {
            "@timestamp": [T0 + timedelta(seconds=s) for s, _, _, _ in events],
            "log.file.path": [path] * n,
            "log.file.line": list(range(1, n + 1)),
            "host.name": ["dc01"] * n,
            "winlog.channel": ["Security"] * n,
            "winlog.event_id": [e for _, e, _, _ in events],
            "winlog.event_data": data,
        },
    )


def failures(ip: str, count: int, start: float = 0, step: float = 10, user: str = "admin") -> list[Event]:
    return [(start + i * step, 4625, ip, user) for i in range(count)]


def corr(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if "sigma:correlation" in f.tags]


_PACKS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def packdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pack(tmp_path_factory.mktemp("corr"), BRUTE, SPRAY, BREAK_IN, BOTH)


def detector(folder: Path) -> SigmaRulesDetector:
    return SigmaRulesDetector([folder], lateness_s=30)


class TestCorrelationConformance(DetectorConformance):
    detector_class = SigmaRulesDetector
    split_sizes = (1, 2, 5, 64)

    def make_detector(self) -> SigmaRulesDetector:
        if "brute" not in _PACKS:
            import tempfile

            _PACKS["brute"] = pack(Path(tempfile.mkdtemp()), BRUTE, BOTH)
        return detector(_PACKS["brute"])

    def positive_cases(self) -> list[SampleCase]:
        noise = [(5.0 + i * 7, 4625, f"10.0.0.{i}", "bob") for i in range(6)]
        burst = failures("198.51.100.7", 6, start=3)
        return [
            SampleCase.of(
                "burst then success", winlog(sorted([*burst, *noise, (80.0, 4624, "198.51.100.7", "admin")]))
            ),
            SampleCase.of("two bursts", winlog(failures("203.0.113.5", 5) + failures("203.0.113.5", 5, start=2000))),
        ]

    def negative_cases(self) -> list[SampleCase]:
        return [
            SampleCase.of("four failures", winlog(failures("198.51.100.7", 4))),
            SampleCase.of("spread out", winlog(failures("198.51.100.7", 8, step=120))),
            SampleCase.of(
                "success first", winlog([(0.0, 4624, "198.51.100.9", "x"), (60.0, 4624, "198.51.100.9", "x")])
            ),
        ]


def test_event_count_alert_carries_rule_group_count_and_evidence(packdir: Path) -> None:
    events = [*failures("198.51.100.7", 30, step=2), (500.0, 4625, "192.0.2.1", "z")]
    findings = corr(run_detector(detector(packdir), [winlog(events)]))
    brute = [f for f in findings if f.details["rule_id"].endswith("a1")]
    assert len(brute) == 1
    (alert,) = brute
    assert alert.details["group"] == {"IpAddress": "198.51.100.7"}
    assert alert.details["value"] == 30 and alert.details["events"] == 30
    assert alert.details["base_rules"] == ["0c1e4a10-0000-4000-8000-000000000001"]
    assert len(alert.evidence) == EVIDENCE_CAP and alert.details["evidence_shown"] == EVIDENCE_CAP
    assert [r.line for r in alert.evidence] == list(range(1, EVIDENCE_CAP + 1))
    assert alert.subject.kind == "IpAddress" and alert.subject.value == "198.51.100.7"
    assert alert.details["rule_level"] == "medium"
    assert alert.first_seen == T0 and alert.last_seen == T0 + timedelta(seconds=58)


def test_value_count_counts_distinct_accounts(packdir: Path) -> None:
    spray = [(i * 5.0, 4625, "198.51.100.8", f"user{i % 5}") for i in range(10)]
    one_user = failures("198.51.100.9", 10, step=5)
    findings = corr(run_detector(detector(packdir), [winlog(sorted(spray + one_user))]))
    sprays = [f for f in findings if f.details["rule_id"].endswith("a2")]
    assert [f.details["group"] for f in sprays] == [{"IpAddress": "198.51.100.8"}]
    assert sprays[0].details["value"] == 5


def test_temporal_ordered_needs_the_order(packdir: Path) -> None:
    ordered = [*failures("198.51.100.7", 2), (100.0, 4624, "198.51.100.7", "admin")]
    reversed_ = [(0.0, 4624, "198.51.100.8", "admin"), (50.0, 4625, "198.51.100.8", "admin")]
    findings = corr(run_detector(detector(packdir), [winlog(sorted(ordered + reversed_))]))
    ordered_hits = {f.details["group"]["source"] for f in findings if f.details["rule_id"].endswith("a3")}
    any_order = {f.details["group"]["IpAddress"] for f in findings if f.details["rule_id"].endswith("a4")}
    assert ordered_hits == {"198.51.100.7"}
    assert any_order == {"198.51.100.7", "198.51.100.8"}


def test_generate_false_silences_base_rules_only_when_no_correlation_generates(tmp_path: Path) -> None:
    events = winlog([*failures("198.51.100.7", 5), (100.0, 4624, "198.51.100.7", "a")])
    quiet = run_detector(detector(pack(tmp_path / "q", BRUTE)), [events])
    assert {f.details["rule_id"] for f in quiet} == {
        "0c1e4a10-0000-4000-8000-0000000000a1",
        "0c1e4a10-0000-4000-8000-000000000002",  # not referenced: still alerts
    }
    loud = run_detector(detector(pack(tmp_path / "l", BREAK_IN)), [events])
    assert sum(1 for f in loud if f.details["rule_id"].endswith("0001")) == 5


def test_window_outside_timespan_does_not_fire_and_state_expires(packdir: Path) -> None:
    det = detector(packdir)
    alerts = det.detect(winlog(failures("198.51.100.7", 4, step=100)))
    later = det.detect(winlog([(3600.0 + i, 4625, "192.0.2.50", "x") for i in range(2)]))
    assert not corr(alerts + later)
    # everything of 198.51.100.7 is older than the watermark minus every timespan: dropped
    assert det.correlator.pending_count() == 2 * 4  # two fresh failures, in four correlations


def test_late_events_are_ignored() -> None:
    folder = pack(Path(__import__("tempfile").mkdtemp()), BRUTE)
    events = [(1000.0, 4625, "192.0.2.99", "x"), *failures("198.51.100.7", 5, step=1)]
    assert not corr(run_detector(SigmaRulesDetector([folder], lateness_s=30), [winlog(events)]))
    assert corr(run_detector(SigmaRulesDetector([folder], lateness_s=3600), [winlog(events)]))


def test_checkpoint_is_json_and_restores_pending_windows(packdir: Path) -> None:
    first = detector(packdir)
    assert not corr(first.detect(winlog(failures("198.51.100.7", 3))))
    state = json.loads(json.dumps(first.checkpoint()))
    resumed = detector(packdir)
    resumed.restore(state)
    tail = winlog(failures("198.51.100.7", 2, start=30))
    tail = EventBatch.from_columns(
        Dataset.WINLOG,
        {**{n: tail.table.column(n).to_pylist() for n in tail.table.schema.names}, "log.file.line": [4, 5]},
    )
    findings = corr(resumed.detect(tail) + resumed.finalize())
    assert [f.details["value"] for f in findings if f.details["rule_id"].endswith("a1")] == [5]


_IPS = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1200),
            st.sampled_from([4624, 4625, 4625, 4625]),
            st.sampled_from(_IPS),
            st.sampled_from("abcde"),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 12),
    st.integers(0, 59),
)
def test_batch_size_and_restart_do_not_change_correlations(
    raw: list[tuple[int, int, str, str]], size: int, cut: int
) -> None:
    """Out-of-order events, any batching, a restart anywhere: the same alert ids."""
    if "all" not in _PACKS:
        import tempfile

        _PACKS["all"] = pack(Path(tempfile.mkdtemp()), BRUTE, SPRAY, BREAK_IN, BOTH)
    folder = _PACKS["all"]
    whole = winlog([(float(s), e, ip, u) for s, e, ip, u in raw])
    expected = {alert_id(f.detector, f.key) for f in run_detector(detector(folder), [whole])}
    split = {alert_id(f.detector, f.key) for f in run_detector(detector(folder), split_batch(whole, size))}
    assert split == expected
    cut = min(cut, whole.num_rows)
    first = detector(folder)
    before = first.detect(whole.slice(0, cut))
    resumed = detector(folder)
    resumed.restore(json.loads(json.dumps(first.checkpoint())))
    after = run_detector(resumed, [whole.slice(cut)])
    ids_before = {alert_id(f.detector, f.key) for f in before}
    ids_after = {alert_id(f.detector, f.key) for f in after}
    assert ids_before | ids_after == expected and not ids_before & ids_after
