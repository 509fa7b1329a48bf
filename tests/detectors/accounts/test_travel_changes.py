"""Impossible travel cites the account's sensitive changes around the hop.

An intruder who logs in first (an account the detector has no history for: nothing is "new")
changes the email; the owner logs in from home half an hour later. The hop alone might be a VPN;
with the email change between the two logins it is a takeover, and the analyst needs that line.
The change was released and judged long before the owner's login, so the detector keeps recent
changes; what it cites must not depend on where batches end or on a restart from a checkpoint."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Finding, Severity
from watchhouse.detectors.accounts import takeover
from watchhouse.detectors.accounts.takeover import AccountTakeoverDetector
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

from .auth_rows import success

HOUR = 3600


def event(
    t: float, action: str, ip: str, country: str, user: str = "p-anna", device: str | None = None
) -> dict[str, Any]:
    return success(t, user, ip, device, country, 26599 if country == "BR" else 5089, action)


def filler(t: float) -> dict[str, Any]:
    """Someone else's login, moving the event clock on."""
    return event(t, "login", "203.0.113.7", "NL", user="p-other", device="d-other")


ROWS = [
    event(-2 * HOUR, "password_change", "92.232.111.217", "GB"),  # the owner, long before: not cited
    filler(-HOUR),
    event(0, "login", "187.60.129.227", "BR"),  # line 3: the intruder
    event(279, "email_change", "187.60.129.227", "BR"),  # line 4
    filler(900),
    event(1784, "login", "92.232.111.217", "GB", device="d-home"),  # line 6: the owner
    event(1900, "recovery_change", "92.232.111.217", "GB", device="d-home"),  # line 7: within the window after
    *(filler(2 * HOUR + 600 * i) for i in range(6)),
    event(6 * HOUR, "phone_change", "92.232.111.217", "GB", device="d-home"),  # long after: not cited
]


def batches_cut_at(cuts: list[int]) -> list[EventBatch]:
    bounds = [0, *cuts, len(ROWS)]
    return [make_batch(Dataset.AUTH, ROWS[a:b], first_line=a + 1) for a, b in itertools.pairwise(bounds)]


def travel(findings: list[Finding]) -> list[tuple[Any, ...]]:
    return [
        (
            f.key,
            [r.line for r in f.evidence],
            f.severity,
            f.details["changes"],
            f.details["change_sources"],
            f.last_seen,
        )
        for f in findings
        if f.details["signal"] == "impossible_travel"
    ]


def test_the_hop_cites_the_change_between_the_logins_and_the_one_a_window_after() -> None:
    findings = run_detector(AccountTakeoverDetector(), batches_cut_at([]))
    (finding,) = [f for f in findings if f.details["signal"] == "impossible_travel"]
    assert [r.line for r in finding.evidence] == [3, 4, 6, 7]
    assert finding.severity == Severity.CRITICAL
    assert finding.details["changes"] == ["email_change", "recovery_change"]
    assert finding.details["change_sources"] == ["187.60.129.227", "92.232.111.217"]
    assert finding.title.endswith("with email_change, recovery_change")
    assert "2 sensitive change(s): email_change, recovery_change" in finding.explanation
    assert finding.last_seen == BASE_TIME + timedelta(seconds=1900)


def test_a_hop_without_changes_stays_high() -> None:
    rows = [event(0, "login", "187.60.129.227", "BR"), event(1784, "login", "92.232.111.217", "GB")]
    (finding,) = run_detector(AccountTakeoverDetector(), [make_batch(Dataset.AUTH, rows)])
    assert finding.severity == Severity.HIGH and finding.details["changes"] == []
    assert "probably not the owner" in finding.explanation


@pytest.mark.parametrize("cut", range(1, len(ROWS)))
def test_batches_and_restarts_do_not_change_what_is_cited(cut: int) -> None:
    whole = travel(run_detector(AccountTakeoverDetector(), batches_cut_at([])))
    assert travel(run_detector(AccountTakeoverDetector(), batches_cut_at([cut]))) == whole
    first, rest = batches_cut_at([cut])
    before = AccountTakeoverDetector()
    found = before.detect(first)
    after = AccountTakeoverDetector()
    after.restore(json.loads(json.dumps(before.checkpoint())))
    assert travel(found + run_detector(after, [rest])) == whole


def test_a_checkpoint_without_kept_changes_still_restores() -> None:
    detector = AccountTakeoverDetector()
    detector.detect(batches_cut_at([5])[0])
    state = json.loads(json.dumps(detector.checkpoint()))
    del state["changes"]
    restored = AccountTakeoverDetector()
    restored.restore(state)
    assert restored.checkpoint()["changes"] == AccountTakeoverDetector().checkpoint()["changes"]


def test_many_kept_changes_are_filtered_first_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = travel(run_detector(AccountTakeoverDetector(), batches_cut_at([8])))
    monkeypatch.setattr(takeover, "_FEW_CHANGES", 0)  # every batch takes the query path
    assert travel(run_detector(AccountTakeoverDetector(), batches_cut_at([8]))) == whole
