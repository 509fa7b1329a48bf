"""A takeover finding lists the countries the account was known in *before* the suspicious login.

The history records a batch's logins only after judging them (so that a finding compares a login
with what came before it); the countries first used earlier in the same batch must still be
listed, or the analyst reads "known countries: none" for an account seen in France that morning."""

from __future__ import annotations

from typing import Any

from watchhouse.core.events import Dataset
from watchhouse.detectors.accounts.takeover import AccountTakeoverDetector
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import make_batch

from .auth_rows import success

HOUR = 3600


def event(t: float, action: str, ip: str, country: str, asn: int, device: str | None) -> dict[str, Any]:
    return success(t, "p-paul", ip, device, country, asn, action)


MORNING = [event(0, "login", "90.12.169.163", "FR", 3215, None), event(HOUR, "login", "79.192.0.5", "DE", 3320, "d-1")]
EVENING = [
    event(8 * HOUR, "login", "99.100.106.100", "US", 7018, "d-new"),
    event(8 * HOUR + 140, "email_change", "99.100.106.100", "US", 7018, "d-new"),
    event(8 * HOUR + 600, "login", "81.2.69.142", "GB", 20712, "d-1"),  # after the login judged: not known
    # someone else, much later: the watermark passes all of the above, which are judged together
    {**event(20 * HOUR, "login", "203.0.113.7", "NL", 1136, "d-x"), "user.name": "p-other"},
]


def test_countries_of_earlier_logins_in_the_same_batch_are_known() -> None:
    (finding,) = [
        f
        for f in run_detector(AccountTakeoverDetector(), [make_batch(Dataset.AUTH, MORNING + EVENING)])
        if f.details["signal"] != "impossible_travel"
    ]
    assert finding.details["known_countries"] == ["DE", "FR"]
    assert "(known countries: DE, FR)" in finding.explanation


def test_countries_of_earlier_batches_are_known_as_well() -> None:
    batches = [make_batch(Dataset.AUTH, MORNING), make_batch(Dataset.AUTH, EVENING, first_line=3)]
    findings = run_detector(AccountTakeoverDetector(), batches)
    (finding,) = [f for f in findings if f.details["signal"] != "impossible_travel"]
    assert finding.details["known_countries"] == ["DE", "FR"]
