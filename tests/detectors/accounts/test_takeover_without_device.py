"""Takeover signs on platforms (or intruders) that send no device id.

A login without a device id cannot be "a new device", so before this rule such a login followed
by an email change was never a takeover, however foreign its place. Without the device's evidence
both place signals must be new: a new country *and* a new network."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from watchhouse.core.events import Dataset
from watchhouse.core.findings import Finding, Severity
from watchhouse.detectors.accounts.takeover import AccountTakeoverDetector
from watchhouse.testing.conformance import run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

from .auth_rows import success

HOUR = 3600
DAY = 24 * HOUR


def history(device: str | None) -> list[dict[str, Any]]:
    """A week of the owner's logins from Lyon on Orange, then a quiet day."""
    return [success(d * DAY, "p-marie", "90.12.169.163", device, "FR", 3215) for d in range(7)]


def intrusion(country: str, asn: int, device: str | None = None, action: str = "email_change") -> list[dict[str, Any]]:
    ip = "198.51.100.23"
    return [
        success(8 * DAY, "p-marie", ip, device, country, asn),
        success(8 * DAY + 300, "p-marie", ip, device, country, asn, action),
    ]


def takeovers(rows: list[dict[str, Any]]) -> list[Finding]:
    findings = run_detector(AccountTakeoverDetector(), [make_batch(Dataset.AUTH, rows)])
    return [f for f in findings if f.details["signal"] != "impossible_travel"]


@pytest.mark.parametrize("owner_device", ["d-phone", None], ids=["owner-sends-device-ids", "platform-sends-none"])
def test_a_deviceless_login_from_a_new_country_and_network_then_a_change_is_a_takeover(
    owner_device: str | None,
) -> None:
    (finding,) = takeovers(history(owner_device) + intrusion("NG", 37148))
    assert finding.details["signal"] == "no_device_new_place_sensitive_change"
    assert finding.details["device"] is None
    assert finding.details["known_countries"] == ["FR"]
    assert finding.severity is Severity.CRITICAL
    assert finding.confidence == pytest.approx(0.8)  # a tenth less than with a new device
    assert "without a device id, from a country and network this account had not used before" in finding.explanation
    assert finding.title == (
        "Account takeover: p-marie - login without a device id from a new country and network, then email_change"
    )
    assert len(finding.evidence) == 2


@pytest.mark.parametrize(
    ("country", "asn"),
    [("FR", 16276), ("NG", 3215)],
    ids=["known-country-new-network", "new-country-known-network"],
)
def test_a_deviceless_login_needs_both_place_signals(country: str, asn: int) -> None:
    assert takeovers(history("d-phone") + intrusion(country, asn)) == []


def test_with_a_new_device_one_place_signal_is_still_enough() -> None:
    (finding,) = takeovers(history("d-phone") + intrusion("FR", 16276, device="d-unknown"))
    assert finding.details["signal"] == "new_device_new_place_sensitive_change"
    assert finding.confidence == pytest.approx(0.8)
    assert finding.title.startswith("Account takeover: p-marie - new device from a new network")


def test_a_deviceless_login_without_a_sensitive_change_is_not_reported() -> None:
    rows = history(None) + intrusion("NG", 37148)[:1]
    assert takeovers(rows) == []


def test_an_intruders_earlier_deviceless_login_does_not_make_his_place_known() -> None:
    """The intruder's password guess succeeded on day 8 (no change made then); on day 10 he is
    back from the same place to change the email. Had day 8 been learned, his place was known."""
    guessed = intrusion("NG", 37148)[:1]
    back = [
        success(10 * DAY + t, "p-marie", "198.51.100.99", None, "NG", 37148, action)
        for t, action in ((0, "login"), (60, "email_change"))
    ]
    (finding,) = takeovers(history("d-phone") + guessed + back)
    assert finding.first_seen == BASE_TIME + timedelta(days=10)
    assert finding.details["known_countries"] == ["FR"]
    assert finding.details["new_country"] and finding.details["new_asn"]


def test_the_owners_trip_is_learned_from_a_login_with_a_device() -> None:
    """The owner in Spain on her phone on day 8; a device-less login from there on day 9 (the app
    dropped the header) with a password change is a known place, not a takeover."""
    trip = [success(8 * DAY, "p-marie", "88.0.1.2", "d-phone", "ES", 3352)]
    later = [
        success(9 * DAY + t, "p-marie", "88.0.1.2", None, "ES", 3352, action)
        for t, action in ((0, "login"), (60, "password_change"))
    ]
    assert takeovers(history("d-phone") + trip + later) == []
