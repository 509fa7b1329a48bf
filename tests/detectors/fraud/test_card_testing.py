"""Card testing: the conformance contract, plus what the findings say, on generated payment traffic.

The positives are the two documented shapes (one source working through a card list; many
throw-away sources aimed at one checkout); the near misses are what real checkouts look like
(a popular shop, a shopper retrying, a household on one address).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.findings import Stage
from watchhouse.detectors.fraud.card_testing import CardTestingDetector
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

REASONS = ("incorrect_cvc", "expired_card", "do_not_honor", "invalid_number", "card_declined")


def pay(t: float, user: str | None, ip: str, card: str, ok: bool, amount: float = 1.0, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "event.id": f"t-{card}-{t}",
        "source.ip": ip,
        "user.name": user,
        "user.target.name": extra.pop("payee", "shop.print-lab"),
        "event.outcome": "success" if ok else "failure",
        "event.reason": None if ok else REASONS[int(t) % len(REASONS)],
        "transaction.amount": amount,
        "transaction.currency": "EUR",
        "payment.method": "card",
        "payment.card.fingerprint": card,
        "payment.card.bin": "4147" + card[-2:],
    }
    row.update(extra)
    return row


def batch(rows: list[dict[str, Any]]) -> EventBatch:
    return make_batch(Dataset.TRANSACTION, sorted(rows, key=lambda r: r["@timestamp"]))


def card_list(
    n: int, user: str | None = "fresh-acct-1", ip: str = "45.146.3.7", t0: float = 0, step: float = 40
) -> list[dict[str, Any]]:
    """One bot working through ``n`` stolen cards, one attempt each, one in ten passing."""
    return [pay(t0 + i * step, user, ip, f"fp{i:04d}", ok=i % 10 == 3) for i in range(n)]


def distributed(sources: int, payee: str = "shop.bakehouse") -> list[dict[str, Any]]:
    """Throw-away accounts on different addresses, two cards each, all at one checkout in minutes."""
    rows = []
    for s in range(sources):
        for k in range(2):
            n = s * 2 + k
            rows.append(pay(s * 12 + k * 3, f"throwaway-{s}", f"86.1.{s}.9", f"fq{n:04d}", ok=n % 9 == 0, payee=payee))
    return rows


def popular_shop(buyers: int = 200) -> list[dict[str, Any]]:
    """A sticker shop's launch hour: hundreds of small sales, own card each, a few declines."""
    return [
        pay(i * 15, f"buyer-{i}", f"77.{i // 200}.{i % 200}.4", f"own{i:04d}", ok=i % 25 != 7, amount=2.99)
        for i in range(buyers)
    ]


def shopper_retries() -> list[dict[str, Any]]:
    """A declined card tried three times, then a second card that works."""
    rows = [pay(i * 30, "anna", "88.1.2.3", "anna-visa", ok=False, amount=64.5) for i in range(3)]
    return [*rows, pay(120, "anna", "88.1.2.3", "anna-mc", ok=True, amount=64.5)]


def household() -> list[dict[str, Any]]:
    """Three people behind one home address, four cards between them, one decline."""
    people = [("kim", "kim-1"), ("kim", "kim-2"), ("lee", "lee-1"), ("jo", "jo-1")]
    return [pay(i * 300, u, "90.4.4.4", c, ok=i != 2, amount=25.0 + i) for i, (u, c) in enumerate(people * 3)]


class TestCardTesting(DetectorConformance):
    detector_class = CardTestingDetector

    def positive_cases(self) -> list[SampleCase]:
        return [
            SampleCase.of("one account, 30 cards, 90% declined", batch(card_list(30))),
            SampleCase.of("guest checkout from one address", batch(card_list(12, user=None))),
            SampleCase.of("40 sources, 80 cards, one checkout", batch(distributed(40))),
        ]

    def negative_cases(self) -> list[SampleCase]:
        return [
            SampleCase.of("popular shop, 200 small sales", batch(popular_shop())),
            SampleCase.of("shopper retries then a second card", batch(shopper_retries())),
            SampleCase.of("household on one address", batch(household())),
            SampleCase.of("four cards, all declined (under min_cards)", batch(card_list(4))),
            SampleCase.of(
                "wallet payments are not card tests",
                batch(
                    [
                        {**r, "payment.method": "wallet", "payment.card.fingerprint": None, "payment.card.bin": None}
                        for r in card_list(30)
                    ]
                ),
            ),
        ]


def test_one_source_finding_counts_cards_attempts_and_declines() -> None:
    (finding,) = run_detector(CardTestingDetector(), [batch(card_list(30))])
    d = finding.details
    assert (d["attempts"], d["distinct_cards"], d["declined"], d["validated_cards"]) == (30, 30, 27, 3)
    assert d["decline_ratio"] == 0.9 and d["median_amount"] == 1.0 and d["small_amount_share"] == 1.0
    assert finding.subject.kind == "user.name" and finding.subject.value == "fresh-acct-1"
    assert finding.stage is Stage.COMPLETED  # three cards passed: charges on stolen cards went through
    assert "30 distinct cards" in finding.explanation and "27 were declined (90%" in finding.explanation
    assert len(finding.evidence) == 30


def test_all_declined_is_only_attempted() -> None:
    rows = [pay(i * 20, "bot", "45.1.1.1", f"c{i}", ok=False) for i in range(10)]
    (finding,) = run_detector(CardTestingDetector(), [batch(rows)])
    assert finding.stage is Stage.ATTEMPTED and "attempted only" in finding.explanation


def test_the_address_is_not_reported_again_for_one_accounts_burst() -> None:
    findings = run_detector(CardTestingDetector(), [batch(card_list(30))])
    assert [f.subject.kind for f in findings] == ["user.name"]


def test_distributed_attack_is_reported_on_the_merchant() -> None:
    findings = run_detector(CardTestingDetector(), [batch(distributed(40))])
    assert [f.subject.kind for f in findings] == ["user.target.name"]
    assert findings[0].details["shape"] == "distributed-at-merchant" and findings[0].details["accounts"] == 40


def test_a_long_pause_ends_a_burst() -> None:
    two_sittings = card_list(10, t0=0) + card_list(10, t0=3 * 3600)
    findings = run_detector(CardTestingDetector(), [batch(two_sittings)])
    assert len(findings) == 2 and findings[0].last_seen < findings[1].first_seen


def test_thresholds_are_options() -> None:
    assert run_detector(CardTestingDetector(min_cards=40, min_attempts=40), [batch(card_list(30))]) == []
    assert run_detector(CardTestingDetector(min_decline_ratio=0.95), [batch(card_list(30))]) == []
