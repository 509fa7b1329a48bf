"""Pure parts of the portal: identifier normalisation, upload scanning, challenges, sessions, grouping."""

from __future__ import annotations

import hashlib

import pytest

from watchhouse.core.errors import UsageError
from watchhouse.office.portal.campaigns import ReportSummary, group
from watchhouse.office.portal.models import IdentifierKind
from watchhouse.office.portal.normalise import normalise
from watchhouse.office.portal.uploads import UploadPolicy, UploadRefusedError, safe_name, scan, sniff
from watchhouse.web.portal.challenge import ChallengeFailedError, Challenges, leading_zero_bits, solve
from watchhouse.web.portal.reporter_session import ReporterSessions

from .portal_helpers import PNG, zip_bytes


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        (IdentifierKind.EMAIL, " Bob@Example.COM ", "bob@example.com"),
        (IdentifierKind.PHONE, "0044 (20) 7946-0000", "+442079460000"),
        (IdentifierKind.PHONE, "+44 20 7946 0000", "+442079460000"),
        (IdentifierKind.IBAN, "gb29 nwbk 6016 1331 9268 19", "GB29NWBK60161331926819"),
        (IdentifierKind.URL, "HTTPS://Shop.Example:443/pay/?utm_source=x&id=7#top", "https://shop.example/pay?id=7"),
        (IdentifierKind.HOST, "http://www.shop.example/x", "shop.example"),
        (
            IdentifierKind.WALLET,
            "0xAbC0000000000000000000000000000000000001",
            "0xabc0000000000000000000000000000000000001",
        ),
        (IdentifierKind.ACCOUNT, "@Scam.Shop", "scam.shop"),
    ],
)
def test_identifiers_normalise_to_one_key(kind: IdentifierKind, given: str, expected: str) -> None:
    assert normalise(kind, given) == expected


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        (IdentifierKind.EMAIL, "not-an-email"),
        (IdentifierKind.PHONE, "call me"),
        (IdentifierKind.PHONE, "+44 \u00b2\u00b2\u00b2 7946"),  # superscripts pass str.isdigit, not as a number
        (IdentifierKind.IBAN, "GB29 NWBK 6016 1331 9268 18"),  # one digit off: check digits fail
        (IdentifierKind.URL, "javascript:alert(1)"),
        (IdentifierKind.WALLET, "short"),
    ],
)
def test_invalid_identifiers_are_refused_with_a_message(kind: IdentifierKind, given: str) -> None:
    with pytest.raises(UsageError):
        normalise(kind, given)


def test_sniffing_trusts_bytes_not_names() -> None:
    assert sniff(PNG) == "image/png"
    assert sniff(b"%PDF-1.7 ...") == "application/pdf"
    assert sniff(b"plain words\n") == "text/plain"
    assert sniff(b"MZ\x90\x00\x03\x00\x00\x00") is None  # a Windows executable named holiday.png
    assert sniff(b"\x00\x01\x02") is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\shot.png", "shot.png"),
        ("a\x00b\nc.png", "abc.png"),
        ("..", "attachment"),
    ],
)
def test_file_names_lose_their_paths_and_controls(given: str, expected: str) -> None:
    assert safe_name(given) == expected


def test_scan_refuses_archive_bombs_nesting_and_oversize() -> None:
    policy = UploadPolicy(max_bytes=10_000, max_ratio=100)
    bomb = zip_bytes({"big.txt": b"\x00" * 5_000_000})
    assert len(bomb) < 10_000
    with pytest.raises(UploadRefusedError, match="inflate"):
        scan([("bomb.zip", bomb)], policy)
    with pytest.raises(UploadRefusedError, match="inside archives"):
        scan([("nest.zip", zip_bytes({"inner.zip": b"PK\x03\x04"}))], policy)
    with pytest.raises(UploadRefusedError, match="at most 10000"):
        scan([("big.png", PNG + b"\x00" * 20_000)], policy)
    with pytest.raises(UploadRefusedError, match="not accepted"):
        scan([("x.png", b"MZ\x90\x00")], policy)
    ok = scan([("notes.zip", zip_bytes({"notes.txt": b"hello world " * 10}))], policy)
    assert ok[0].media_type == "application/zip"


def test_proof_of_work_and_arithmetic_both_pass_once() -> None:
    now = [1_000_000.0]
    challenges = Challenges(b"k" * 32, difficulty=8, ttl_s=60, clock=lambda: now[0])
    issued = challenges.issue()
    nonce = solve(issued.salt, 8)
    assert leading_zero_bits(hashlib.sha256(f"{issued.salt}:{nonce}".encode()).digest()) >= 8
    challenges.verify(issued.token, nonce, "")
    with pytest.raises(ChallengeFailedError, match="already"):
        challenges.verify(issued.token, nonce, "")
    second = challenges.issue()
    a, b = (int(x) for x in second.token.split(".")[3:5])
    with pytest.raises(ChallengeFailedError, match="not right"):
        challenges.verify(second.token, "", str(a + b + 1))
    challenges.verify(second.token, "", str(a + b))
    third = challenges.issue()
    with pytest.raises(ChallengeFailedError, match="damaged"):
        challenges.verify(third.token.replace(".8.", ".0.", 1), "0", "")
    with pytest.raises(ChallengeFailedError, match="damaged"):  # compare_digest raised TypeError on it
        challenges.verify(third.token[:-1] + "\u00e9", "0", "")
    now[0] += 61
    with pytest.raises(ChallengeFailedError, match="expired"):
        challenges.verify(third.token, solve(third.salt, 8), "")


def test_reporter_sessions_reject_tampering_and_expiry() -> None:
    now = [1000.0]
    sessions = ReporterSessions(b"k" * 32, 60, clock=lambda: now[0])
    cookie = sessions.issue("ABCDEFGHJK")
    session = sessions.read(cookie)
    assert session is not None and session.reference == "ABCDEFGHJK" and len(session.csrf_token) == 32
    assert sessions.read(cookie.replace("ABCDEFGHJK", "ZZZZZZZZZZ")) is None
    assert sessions.read("garbage") is None
    # "²³" passes str.isdigit but not int: refused as any forged cookie is, not a server error
    assert sessions.read("ABCDEFGHJK.\u00b2\u00b3." + cookie.rsplit(".", 1)[1]) is None
    assert sessions.read(cookie[:-1] + "\u00e9") is None  # a non-ASCII signature: compare_digest raised
    now[0] += 61
    assert sessions.read(cookie) is None


def test_grouping_is_transitive_and_counts_distinct_victims() -> None:
    reports = [
        ReportSummary("A", "scam", True, "rp-1", ("10", "EUR")),
        ReportSummary("B", "scam", True, "rp-1", ("5.50", "EUR")),  # the same victim twice
        ReportSummary("C", "phishing", False, None, None),  # a witness
        ReportSummary("D", "scam", True, None, None),  # unrelated
    ]
    ids = [
        ("A", "phone", "+1"),
        ("B", "phone", "+1"),
        ("B", "wallet", "w"),
        ("C", "wallet", "w"),
        ("D", "host", "platform.example"),
        ("A", "host", "platform.example"),
    ]
    [campaign] = group(reports, ids, ignore_hosts=frozenset({"platform.example"}))
    assert campaign.references == ("A", "B", "C")
    assert campaign.victims == 1
    assert campaign.money_lost == (("EUR", "15.50"),)
    assert set(campaign.shared) == {("phone", "+1"), ("wallet", "w")}
