"""Scam messages: the conformance contract, the signs, and campaigns, on a small marketplace's DMs.

The platform is "Sellwise" (``sellwise.example``, configured as a protected domain). Positives are
credential phishing (forgery) and payment scams (fraud) as they are documented; near misses are
what people and the platform itself send: newsletters, money talk between friends, a user warning
friends about a phishing link, the platform's own security notice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from watchhouse.core.events import Dataset, EventBatch
from watchhouse.core.taxonomy import CrimeCode
from watchhouse.detectors.fraud.scam_messages import ScamMessageDetector
from watchhouse.detectors.fraud.scam_signs import host_signs, score, template
from watchhouse.testing.conformance import DetectorConformance, SampleCase, run_detector
from watchhouse.testing.factories import BASE_TIME, make_batch

PLATFORM = ("sellwise.example",)


def dm(t: float, sender: str, recipient: str, text: str, ip: str = "45.146.9.1") -> dict[str, Any]:
    return {
        "@timestamp": BASE_TIME + timedelta(seconds=t),
        "event.id": f"m-{sender}-{t}",
        "source.ip": ip,
        "user.name": sender,
        "user.target.name": recipient,
        "message": text,
    }


def batch(rows: list[dict[str, Any]]) -> EventBatch:
    return make_batch(Dataset.MESSAGE, sorted(rows, key=lambda r: r["@timestamp"]))


def phishing(n: int, sender: str = "new-seller-77") -> list[dict[str, Any]]:
    """A look-alike of the platform, a locked-account story, a fresh token per copy."""
    text = (
        "Sellwise Security: your account is locked after unusual activity. Verify your account within 24 hours "
        "or it will be suspended: https://se11wise.com/verify?u={tok}"
    )
    return [dm(i * 45, sender, f"buyer-{i}", text.format(tok=f"{i * 7919:08x}")) for i in range(n)]


def prize_campaign(n: int) -> list[dict[str, Any]]:
    """Weak alone (a prize and a claim link), a scam because one template goes to many."""
    text = "Congratulations! You were picked for a free gift card. Claim it here: https://promo-gifts.net/claim/{tok}"
    return [dm(i * 60, "giveaway-01", f"buyer-{i}", text.format(tok=f"{i:06d}ab")) for i in range(n)]


ADVANCE_FEE = (
    "Dear friend, I am solicitor Mark Owen. My late client left an inheritance of 8.5 million dollars with no "
    "next of kin. You will receive 35% if you help. Reply with your full name and bank details."
)
FAKE_INVESTMENT = (
    "I made $4,000 this week with a crypto bot, guaranteed 25% weekly returns. Send 300 USDT to my wallet and "
    "write me on telegram @quickgains"
)
IP_LITERAL = "Sign in here or your account will be suspended: http://185.22.14.9/login?acct=5512"

FRIENDS = (
    "can you send me your bank details for the rent split?",
    "I'll transfer you the 20 for the tickets tomorrow",
    "bitcoin is down again, glad I sold",
    "my account got locked yesterday, had to reset my password",
    "look at this https://www.youtube.com/watch?v=abc",
)


class TestScamMessages(DetectorConformance):
    detector_class = ScamMessageDetector

    def make_detector(self) -> ScamMessageDetector:
        return ScamMessageDetector(protected_domains=list(PLATFORM))

    def positive_cases(self) -> list[SampleCase]:
        return [
            SampleCase.of("look-alike phishing to 12 buyers", batch(phishing(12))),
            SampleCase.of("one advance-fee letter", batch([dm(0, "mark-owen", "buyer-1", ADVANCE_FEE)])),
            SampleCase.of("fake investment", batch([dm(0, "quickgains", "buyer-2", FAKE_INVESTMENT)])),
            SampleCase.of("IP-literal login link", batch([dm(0, "x-9", "buyer-3", IP_LITERAL)])),
            SampleCase.of("prize template to 8 buyers", batch(prize_campaign(8))),
        ]

    def negative_cases(self) -> list[SampleCase]:
        newsletter = (
            "Our spring newsletter is out: 12 new hiking routes and a boot sale https://blog.sellwise.example/spring"
        )
        notice = (
            "Sellwise: verify your email within 24 hours to finish signing up: https://sellwise.example/verify?t=9a"
        )
        rally = (
            "The vote is tomorrow, polls close within 12 hours - find your polling station: https://vote.example.org"
        )
        warning = "careful, a message said my account will be suspended, link to sellwise-login.com - don't click"
        return [
            SampleCase.of(
                "newsletter to 60 members", batch([dm(i * 5, "news", f"m-{i}", newsletter) for i in range(60)])
            ),
            SampleCase.of("friends talk money", batch([dm(i * 60, "ana", "ben", t) for i, t in enumerate(FRIENDS)])),
            SampleCase.of("the platform's own notice", batch([dm(i, "sellwise", f"n-{i}", notice) for i in range(20)])),
            SampleCase.of("a user warns a friend", batch([dm(0, "ana", "ben", warning)])),
            SampleCase.of("one prize message is not a campaign", batch(prize_campaign(3))),
            # lawful civic speech with urgency and a link: no lure for credentials or money, never in scope
            SampleCase.of("civic reminder", batch([dm(i, "civic", f"m-{i}", rally) for i in range(30)])),
        ]


def test_phishing_is_forgery_and_payment_scams_are_fraud() -> None:
    rows = [*phishing(12), dm(100, "new-seller-77", "buyer-40", FAKE_INVESTMENT)]
    findings = run_detector(ScamMessageDetector(protected_domains=list(PLATFORM)), [batch(rows)])
    by_code = {f.crime_code: f for f in findings}
    assert set(by_code) == {CrimeCode.COMPUTER_FORGERY, CrimeCode.COMPUTER_FRAUD}
    phish = by_code[CrimeCode.COMPUTER_FORGERY]
    assert phish.details["messages"] == 12 and phish.details["recipients"] == 12
    assert phish.details["hosts"] == ["se11wise.com"]
    assert "look-alike of 'sellwise'" in phish.details["signs"]
    assert phish.details["largest_template_recipients"] == 12
    assert len(by_code[CrimeCode.COMPUTER_FRAUD].evidence) == 1


def test_without_the_platform_configured_the_lookalike_is_not_named_but_the_lure_still_counts() -> None:
    (finding,) = run_detector(ScamMessageDetector(), [batch(phishing(3))])
    assert not any(s.startswith("look-alike") for s in finding.details["signs"])
    assert finding.details["strong_messages"] == 3


def test_host_signs() -> None:
    assert host_signs("sellwise.example", PLATFORM) == ()
    assert host_signs("help.sellwise.example", PLATFORM) == ()
    assert ("look-alike of 'sellwise'", 3) in host_signs("se1lwise.com", PLATFORM)  # homoglyph
    assert ("look-alike of 'sellwise'", 3) in host_signs("sellwsie.com", PLATFORM)  # swapped letters
    assert ("brand 'sellwise' inside another domain", 3) in host_signs("sellwise-login.net", PLATFORM)
    assert ("IP-literal link", 2) in host_signs("185.22.14.9", PLATFORM)
    assert ("punycode/non-ASCII host", 2) in host_signs("xn--sellwse-3ya.com", PLATFORM)
    assert ("link shortener", 1) in host_signs("bit.ly", PLATFORM)
    assert host_signs("www.youtube.com", PLATFORM) == ()


def test_one_weak_sign_is_not_a_scam() -> None:
    for text in FRIENDS:
        signs = score(text, PLATFORM)
        assert signs.payment_score <= 1 and signs.lure_score + signs.link_score <= 2, text


def test_templates_blank_tokens_numbers_and_links() -> None:
    a = template("Claim it here: https://promo-gifts.net/claim/000001ab within 24h")
    b = template("Claim it  here: https://other.example/claim/7f7f7f7f within 48h")
    assert a == b == "claim it here: <link> within #"


def test_weak_lures_count_when_the_sender_runs_a_campaign() -> None:
    weak = [
        {**r, "user.name": "new-seller-77", "@timestamp": r["@timestamp"] + timedelta(minutes=30)}
        for r in prize_campaign(3)
    ]
    detector = ScamMessageDetector(protected_domains=list(PLATFORM))
    (finding,) = run_detector(detector, [batch(phishing(6) + weak)])
    assert finding.details["messages"] == 9 and finding.details["strong_messages"] == 6
    (small,) = run_detector(ScamMessageDetector(protected_domains=list(PLATFORM)), [batch(phishing(2) + weak)])
    assert small.details["messages"] == 2, "two strong messages are no campaign: the weak ones stay out"
