"""Bulk record access: the conformance contract, baselines and the signs it reports.

Traffic is a small staff floor: support agents reading a handful of records an hour each, and
internal services reading one user per request. The positives are the two ways data leaves (a
staff session walking through profiles; a service key exporting from an address it never used);
the near misses are busy but normal days.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Stage
from watchhouse.detectors.datatheft.bulk_record_access import BulkRecordAccessDetector
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

HOUR = 3600.0


def read(
    t: float, who: str, subject: str | None, *, role: str = "support", ip: str = "10.8.0.11", **extra: Any
) -> dict[str, Any]:
    kind = extra.pop("kind", "user_profile")
    row: dict[str, Any] = {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "source.ip": ip,
        "user.name": who,
        "user.roles": role,
        "event.action": extra.pop("action", "read"),
        "event.outcome": "success",
        "user.target.name": subject,
        "data.record.type": kind,
        "data.record.count": extra.pop("count", 1),
        "service.name": "admin-console",
        "url.original": extra.pop("url", f"/admin/users/{subject}/{kind}"),
    }
    row.update(extra)
    return row


def floor(hours: int, per_hour: int = 8, agents: int = 4, t0: float = 0) -> list[dict[str, Any]]:
    """Support agents working tickets: ``per_hour`` different users' records each, every hour."""
    return [
        read(t0 + h * HOUR + k * (HOUR / per_hour) + a, f"agent-{a}", f"user-{(h * 97 + a * 13 + k * 7) % 5000}")
        for h in range(hours)
        for a in range(agents)
        for k in range(per_hour)
    ]


def walk(who: str, n: int, t0: float, minutes: float = 40, numeric: bool = False) -> list[dict[str, Any]]:
    """One session reading ``n`` different users' profiles, one after another."""
    step = minutes * 60 / n
    if numeric:
        return [read(t0 + i * step, who, f"u{10_000 + i}", url=f"/admin/users/{10_000 + i}/profile") for i in range(n)]
    return [read(t0 + i * step, who, f"user-{(i * 7919) % 100_000}") for i in range(n)]


def services(hours: int, per_hour: int = 6, t0: float = 0) -> list[dict[str, Any]]:
    rows = []
    for h in range(hours):
        for s, name in enumerate(("svc-billing", "svc-notify", "svc-analytics")):
            for k in range(per_hour):
                subject = f"user-{(h * 31 + s * 101 + k * 17) % 5000}"
                t = t0 + h * HOUR + k * (HOUR / per_hour) + s
                rows.append(read(t, name, subject, role="service", ip=f"10.0.1.{21 + s}", url=f"/v2/users/{subject}"))
    return rows


def export(t: float, ip: str = "45.33.227.21", count: int = 48_000) -> dict[str, Any]:
    return read(
        t, "svc-analytics", None, role="service", ip=ip, action="export", count=count,
        url="/internal/v2/users/export?limit=100000",
    )  # fmt: skip


def batch(rows: list[dict[str, Any]]) -> EventBatch:
    return make_batch(Dataset.DATA_ACCESS, sorted(rows, key=lambda r: r["@timestamp"]))


class TestBulkRecordAccess(DetectorConformance):
    """On a bar of 100 records an hour (the default is 300) so the cases stay small: the contract
    replays every case one row per batch."""

    detector_class = BulkRecordAccessDetector

    def make_detector(self) -> BulkRecordAccessDetector:
        return BulkRecordAccessDetector(min_records=100)

    def positive_cases(self) -> list[SampleCase]:
        return [
            SampleCase.of(
                "agent walks through 200 profiles",
                batch(floor(4) + walk("agent-2", 200, t0=3 * HOUR + 60)),
            ),
            SampleCase.of("service key exports from a new address", batch([*services(4), export(3 * HOUR + 900)])),
            SampleCase.of("numeric ids read in order", batch(floor(2) + walk("agent-1", 150, 2 * HOUR, numeric=True))),
        ]

    def negative_cases(self) -> list[SampleCase]:
        busy = floor(3, per_hour=30)  # a queue day: 30 records an hour each, under the bar of 100
        peers_alike = [
            read(k * 30 + s, f"svc-search-{s}", f"user-{(k * 13 + s) % 9000}", role="service")
            for s in range(4)
            for k in range(110)
        ]  # four search services, each reading 110 users in the hour: over the bar, but like its peers
        searches = [
            read(i * 300, "agent-0", None, action="search", count=20, url="/admin/search?q=x") for i in range(4)
        ]  # four searches of 20 results: 80, under the bar
        return [
            SampleCase.of("busy support floor", batch(busy)),
            SampleCase.of("services reading like their peers", batch(peers_alike)),
            SampleCase.of("searches returning many matches", batch(searches)),
            SampleCase.of("ordinary services", batch(services(3))),
        ]


def test_walk_is_explained_with_baselines() -> None:
    rows = floor(5) + walk("agent-2", 900, t0=4 * HOUR + 60)
    (finding,) = run_detector(BulkRecordAccessDetector(), [batch(rows)])
    d = finding.details
    assert finding.subject.value == "agent-2" and finding.stage is Stage.COMPLETED
    assert d["distinct_users"] >= 900 and d["records"] >= 900
    assert d["own_baseline"] == 8.0  # four earlier hours of eight records
    assert d["peer_median"] == 8.0  # agents 0, 1 and 3 read eight, agent-2 over 900: the median is 8
    assert "own median is 8 per window" in finding.explanation


def test_export_from_a_new_address_cites_the_export() -> None:
    (finding,) = run_detector(BulkRecordAccessDetector(), [batch([*services(4), export(4 * HOUR + 900)])])
    assert finding.details["bulk_records"] == 48_000 and finding.details["new_addresses"] == ["45.33.227.21"]
    assert "never seen for this principal" in finding.explanation
    assert len(finding.evidence) == 1  # the export, not the ordinary reads of that hour


def test_enumeration_is_a_sign() -> None:
    rows = floor(2) + walk("agent-1", 150, 2 * HOUR, numeric=True)
    (finding,) = run_detector(BulkRecordAccessDetector(min_records=100), [batch(rows)])
    assert finding.details["sequential_share"] > 0.9 and "enumeration" in finding.explanation
    (plain,) = run_detector(BulkRecordAccessDetector(min_records=100), [batch(walk("agent-1", 150, 0))])
    assert plain.details["sequential_share"] == 0.0 and "enumeration" not in plain.explanation


def test_a_principal_whose_norm_is_high_needs_ten_times_it() -> None:
    steady = [read(h * HOUR + k * 6, "svc-crm", f"user-{k}", role="service") for h in range(5) for k in range(500)]
    doubled = [read(5 * HOUR + k * 3, "svc-crm", f"user-{k}", role="service") for k in range(1000)]
    findings = run_detector(BulkRecordAccessDetector(), [batch(steady + doubled)])
    first_hour = [f for f in findings if f.first_seen < BASE_TIME + timedelta(hours=1)]
    assert first_hour, "no baseline yet: 500 records is over the absolute bar"
    assert all(f.first_seen < BASE_TIME + timedelta(hours=3) for f in findings), "baseline learnt, doubling is normal"


def test_a_short_scrape_does_not_teach_the_baseline() -> None:
    rows = floor(4) + walk("agent-2", 900, 4 * HOUR) + walk("agent-2", 900, 5 * HOUR)
    findings = run_detector(BulkRecordAccessDetector(), [batch(rows)])
    assert len(findings) == 2 and findings[1].details["own_baseline"] == 8.0


def test_a_walk_crossing_the_hour_keeps_its_tail() -> None:
    rows = floor(3) + walk("agent-2", 720, t0=3 * HOUR + 3000, minutes=12)  # 600 before 04:00, 120 after
    findings = run_detector(BulkRecordAccessDetector(), [batch(rows)])
    assert [f.details["records"] for f in findings] == [600, 120]
    assert "continues the previous hour" in findings[1].explanation
    alone = floor(3) + walk("agent-2", 120, t0=4 * HOUR, minutes=2)
    assert run_detector(BulkRecordAccessDetector(), [batch(alone)]) == []


def test_a_walk_starting_just_before_the_hour_keeps_its_head() -> None:
    rows = floor(3) + walk("agent-2", 720, t0=4 * HOUR - 120, minutes=12)  # 120 before 04:00, 600 after
    findings = run_detector(BulkRecordAccessDetector(), [batch(rows)])
    assert [f.details["records"] for f in findings] == [120, 600]
    assert "start of a walk that fired in the next hour" in findings[0].explanation
