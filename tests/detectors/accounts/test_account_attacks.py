"""Conformance and rule tests for spraying, stuffing and takeover, on generated auth traffic."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Stage
from watchhouse.detectors.accounts.credential_stuffing import CredentialStuffingDetector
from watchhouse.detectors.accounts.password_spraying import PasswordSprayingDetector
from watchhouse.detectors.accounts.takeover import AccountTakeoverDetector
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

STUFF_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/108.0.5359.125 Safari/537.36"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/122.0.0.0 Safari/537.36"


def login(t: float, ip: str, user: str, outcome: str = "failure", **extra: Any) -> dict[str, Any]:
    row = {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "source.ip": ip,
        "user.name": user,
        "event.outcome": outcome,
        "event.action": "login",
        "service.name": "web",
        "user_agent.original": BROWSER,
    }
    row.update(extra)
    return row


def batch(rows: list[dict[str, Any]]) -> EventBatch:
    return make_batch(Dataset.AUTH, sorted(rows, key=lambda r: r["@timestamp"]))


def spray(accounts: int, ip: str = "45.146.1.9", step: float = 40, t0: float = 0) -> list[dict[str, Any]]:
    return [login(t0 + i * step, ip, f"u-{i:04d}", **{"event.reason": "bad_password"}) for i in range(accounts)]


def stuffing(sources: int, per_source: int = 2, t0: float = 0) -> list[dict[str, Any]]:
    rows = []
    for s in range(sources):
        for k in range(per_source):
            user = f"combo-{s * per_source + k:05d}"
            rows.append(login(t0 + s * 3 + k, f"86.0.{s // 250}.{s % 250}", user, **{"user_agent.original": STUFF_UA}))
    return rows


def office(users: int, fails_each: int = 1) -> list[dict[str, Any]]:
    """A NAT address: many people, each a mistype or two and then a success."""
    rows = []
    for u in range(users):
        for k in range(fails_each):
            rows.append(login(u * 30 + k * 5, "141.20.0.1", f"staff-{u}"))
        rows.append(login(u * 30 + 20, "141.20.0.1", f"staff-{u}", "success"))
    return rows


def history(user: str, days: int = 3) -> list[dict[str, Any]]:
    home = {"device.id": "d-home", "source.geo.country_iso_code": "DE", "source.as.number": 3320}
    return [login(-86400 * d, "79.192.0.5", user, "success", **home) for d in range(days, 0, -1)]


def takeover(change: str = "email_change", thief_device: str = "d-thief") -> list[dict[str, Any]]:
    thief = {"device.id": thief_device, "source.geo.country_iso_code": "BR", "source.as.number": 26599}
    rows = history("p-alice")
    rows.append(login(100, "177.32.0.9", "p-alice", "success", **thief))
    rows.append({**login(400, "177.32.0.9", "p-alice", "success", **thief), "event.action": change})
    return rows


class TestPasswordSpraying(DetectorConformance):
    detector_class = PasswordSprayingDetector

    def positive_cases(self) -> list[SampleCase]:
        return [
            SampleCase.of("40 accounts once each", batch(spray(40))),
            SampleCase.of("spray then a success", batch([*spray(30), login(2000, "45.146.1.9", "u-0007", "success")])),
        ]

    def negative_cases(self) -> list[SampleCase]:
        return [
            SampleCase.of("9 accounts", batch(spray(9))),
            SampleCase.of("office NAT, 40 people mistyping", batch(office(40))),
            SampleCase.of(
                "brute force on 12 accounts, 10 tries each",
                batch([login(i * 5, "45.146.1.9", f"u-{i % 12}") for i in range(120)]),
            ),
        ]


def test_spraying_counts_and_completion_are_explained() -> None:
    rows = [*spray(30), login(2000, "45.146.1.9", "u-0007", "success")]
    (finding,) = run_detector(PasswordSprayingDetector(), [batch(rows)])
    assert finding.stage == Stage.COMPLETED
    assert finding.details["distinct_accounts"] == 30 and finding.details["failures"] == 30
    assert finding.details["accounts_logged_into"] == ["u-0007"]
    assert "30 distinct accounts" in finding.explanation and len(finding.evidence) == 31


def test_spray_crossing_a_window_edge_continues_with_a_lower_bar() -> None:
    # 30 accounts, the last 5 fall into the next hour: the second window fires as a continuation
    findings = run_detector(PasswordSprayingDetector(), [batch(spray(30, step=120, t0=3600 - 25 * 120 - 50))])
    assert len(findings) == 2 and sum(f.details["distinct_accounts"] for f in findings) == 30


class TestCredentialStuffing(DetectorConformance):
    detector_class = CredentialStuffingDetector

    def positive_cases(self) -> list[SampleCase]:
        return [SampleCase.of("60 sources, 2 accounts each", batch(stuffing(60)))]

    def negative_cases(self) -> list[SampleCase]:
        honest = [login(i * 4, f"79.192.1.{i}", f"p-{i}", "success") for i in range(100)]
        return [
            SampleCase.of("9 sources", batch(stuffing(9, per_source=3))),
            SampleCase.of("a popular browser, mostly successes", batch([*honest, *office(20)])),
        ]


def test_stuffing_reports_sources_accounts_and_ratio() -> None:
    (finding,) = run_detector(CredentialStuffingDetector(), [batch(stuffing(60))])
    assert finding.details["distinct_sources"] == 60 and finding.details["distinct_accounts"] == 120
    assert finding.details["failure_ratio"] == 1.0 and finding.subject.value == STUFF_UA
    assert len(finding.evidence) == 120


class TestAccountTakeover(DetectorConformance):
    detector_class = AccountTakeoverDetector

    def positive_cases(self) -> list[SampleCase]:
        travel = [
            *history("p-bob"),
            login(0, "79.192.0.5", "p-bob", "success", **{"source.geo.country_iso_code": "DE"}),
            login(900, "73.12.0.4", "p-bob", "success", **{"source.geo.country_iso_code": "US"}),
        ]
        return [
            SampleCase.of("new device, new country, then email change", batch(takeover())),
            SampleCase.of("impossible travel", batch(travel)),
        ]

    def negative_cases(self) -> list[SampleCase]:
        owner = [
            *history("p-alice"),
            {
                **login(400, "79.192.0.5", "p-alice", "success", **{"device.id": "d-home"}),
                "event.action": "email_change",
            },
        ]
        first_ever = takeover()[-2:]  # no history: nothing to compare with
        return [
            SampleCase.of("owner changes email from home", batch(owner)),
            SampleCase.of("account never seen before", batch(first_ever)),
            SampleCase.of("new device but no change", batch(takeover()[:-1])),
        ]


def test_takeover_names_the_change_and_the_new_place() -> None:
    (finding,) = run_detector(AccountTakeoverDetector(), [batch(takeover("payout_change"))])
    assert finding.details["changes"] == ["payout_change"] and finding.details["country"] == "BR"
    assert finding.details["known_countries"] == ["DE"] and len(finding.evidence) == 2


def test_takeover_history_expires() -> None:
    detector = AccountTakeoverDetector(history_days=1)
    run_detector(detector, [batch(history("p-alice", days=5))])
    assert detector.history_rows == 0  # finalize forgets; and within a run old entries go:
    detector = AccountTakeoverDetector(history_days=1)
    detector.detect(batch([*history("p-alice", days=5), login(3 * 86400, "79.192.0.5", "p-x", "success")]))
    assert detector.history_rows <= 3


def test_checkpoints_are_json() -> None:
    for detector in (PasswordSprayingDetector(), CredentialStuffingDetector(), AccountTakeoverDetector()):
        detector.detect(batch(spray(5)))
        json.dumps(detector.checkpoint())
