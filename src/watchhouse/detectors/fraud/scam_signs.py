"""The signs of a scam message: what its links are and what its words ask the reader to do.

Why signs and weights instead of a trained classifier: every alert must say *why*, and the signs
below are the documented techniques of credential phishing and advance-fee / payment scams
(look-alike and combo-squatted domains, IP-literal and punycode hosts, link shorteners, urgency
and account threats, requests for credentials, irreversible payment channels, promised returns).
No single sign is enough - people do write "send me your bank details for the rent" - so a
message is a scam only when its signs add up (see :func:`score`). Only fraud is in scope: nothing
here reads opinions, politics or any lawful content, only lures for money and credentials.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

#: a cheap, vectorised prefilter (Polars regex on lower-cased text): a message without any of
#: these cannot score, so only the few that have one reach the per-message Python below
PREFILTER = (
    r"https?://|www\.|\b(?:verify|confirm|log ?in|sign ?in|suspend|locked|password|claim|congratulation|"
    r"appeal|wallet|bitcoin|btc|usdt|crypto|gift ?card|fee|bank|transfer|million|inheritance|unclaimed|"
    r"guarantee|invest|telegram|whatsapp|western union|moneygram)"
)

_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+")
_HOST = re.compile(r"(?i)^(?:https?://)?([^/:?#\s]+)")

#: (sign, weight, phishing or payment family, pattern); weights add up per message
_TEXT_SIGNS: tuple[tuple[str, int, str, re.Pattern[str]], ...] = tuple(
    (name, weight, family, re.compile(pattern, re.IGNORECASE))
    for name, weight, family, pattern in (
        (
            "credential request",
            2,
            "phishing",
            r"\b(?:verify|confirm|validate|update|secure)\s+(?:your|it|the)\b|\b(?:log|sign)\s?in\s+(?:to|here|now|"
            r"at)\b|\b(?:reset|confirm|enter)\s+your\s+(?:password|pin|code|details)",
        ),
        (
            "account threat",
            1,
            "phishing",
            r"\b(?:suspend(?:ed)?|locked|disabled|lose access|unusual activity|reported for|violation|"
            r"someone tried to)\b",
        ),
        (
            "appeal or prize lure",
            2,
            "phishing",
            r"\b(?:appeal|claim (?:it|your|now)|congratulations|you(?:'ve| have) won)\b",
        ),
        (
            "urgency",
            1,
            "both",
            r"\bwithin \d+\s*(?:h\b|hours?|minutes?|days?)|\b(?:immediately|right away|limited slots|act now|"
            r"expires? (?:today|soon)|\d+h\b)|\b(?:it|this|them|your account) now\b",
        ),
        (
            "advance-fee story",
            2,
            "payment",
            r"\b(?:unclaimed|next of kin|inheritance|late client|transfer the funds|\d+(?:\.\d+)? million "
            r"(?:usd|dollars|euros?|gbp)|you will receive \d+%)",
        ),
        (
            "promised returns",
            2,
            "payment",
            r"\bguaranteed?\b[^.]{0,40}\breturns?\b|\b\d+% (?:daily|weekly|monthly) returns?|\bdouble your "
            r"(?:bitcoin|btc|crypto|money|investment)|\brisk[- ]free (?:profit|returns?)",
        ),
        (
            "irreversible payment",
            2,
            "payment",
            r"\bgift ?cards?\b|\busdt\b|\bwestern union\b|\bmoneygram\b|\bsend\b[^.]{0,30}\b(?:to (?:my |this )?"
            r"wallet|bitcoin|btc|eth)\b|\b(?:bc1[a-z0-9]{8,}|0x[0-9a-f]{40})\b",
        ),
        ("fee to release funds", 1, "payment", r"\b(?:verification|release|processing|unlock) fee\b|\bon hold\b"),
        (
            "personal data request",
            1,
            "payment",
            r"\b(?:bank details|account number|card number|full name and|social security|passport)\b",
        ),
        (
            "off-platform contact",
            1,
            "payment",
            r"\b(?:telegram|whatsapp|signal) (?:me|@|\+)|\bwrite me on\b|@\w+ on telegram",
        ),
        (
            "authority impersonation",
            1,
            "both",
            r"\b(?:barrister|attorney|solicitor|professional investor|payments? team|security team|support team)\b|"
            r"\bthis is (?:the )?\w+ (?:support|security|payments?)",
        ),
    )
)

#: paths of credential-harvesting pages
_LURE_PATH = re.compile(
    r"(?i)/(?:verify|login|log-in|signin|sign-in|account|secure|update|confirm|appeal|claim|unlock)\b"
)
#: words that combo-squatted domains pair with a brand
_SECURITY_WORDS = frozenset(
    {
        "login",
        "signin",
        "verify",
        "verification",
        "secure",
        "security",
        "account",
        "accounts",
        "support",
        "update",
        "confirm",
        "auth",
        "recover",
        "recovery",
        "unlock",
        "billing",
        "wallet",
        "helpdesk",
    }
)
SHORTENERS = frozenset(
    {
        "bit.ly",
        "tinyurl.com",
        "t.co",
        "goo.gl",
        "is.gd",
        "ow.ly",
        "cutt.ly",
        "rebrand.ly",
        "shorturl.at",
        "rb.gy",
        "s.id",
        "t.ly",
        "buff.ly",
        "tiny.cc",
    }
)
#: brands commonly impersonated; a platform adds its own domains with the detector's options
WELL_KNOWN = (
    "paypal.com", "apple.com", "icloud.com", "microsoft.com", "office.com", "outlook.com", "google.com",
    "gmail.com", "amazon.com", "facebook.com", "instagram.com", "whatsapp.com", "netflix.com", "dhl.com",
    "fedex.com", "ups.com", "coinbase.com", "binance.com", "linkedin.com", "dropbox.com", "docusign.com",
    "steamcommunity.com", "spotify.com", "ebay.com",
)  # fmt: skip
#: digits and letter pairs that read as another letter (homoglyphs that survive ASCII)
_CONFUSABLE = (("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l"), ("3", "e"), ("5", "s"), ("@", "a"))


@dataclass(frozen=True)
class Signs:
    """The signs found in one message, by family, and the link hosts it carries."""

    phishing: tuple[str, ...]
    payment: tuple[str, ...]
    #: weight of the phishing lures in the words, and of the link signs (host and path)
    lure_score: int
    link_score: int
    payment_score: int
    #: a sign that asks for money itself (not only for data or contact)
    payment_core: bool
    hosts: tuple[str, ...]


def _skeleton(label: str) -> str:
    text = label.lower()
    for seen, meant in _CONFUSABLE:
        text = text.replace(seen, meant)
    return text


def _close(a: str, b: str) -> bool:
    """Within one edit (insert, delete, substitute, or swap of neighbours): a typosquat."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _brand(domain: str) -> str:
    """The registrable label of a protected domain (``larkspur`` of ``www.larkspur.example``)."""
    parts = domain.lower().strip(".").split(".")
    return parts[-2] if len(parts) >= 2 else parts[0]


def _is_protected(host: str, protected: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in protected)


@lru_cache(maxsize=65_536)
def host_signs(host: str, protected: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """What a link's host says, with weights: look-alike of a protected brand, IP literal,
    punycode, shortener, or a combo-squat of security words."""
    host = host.lower().rstrip(".")
    if _is_protected(host, protected):
        return ()
    out: list[tuple[str, int]] = []
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]", host):
        out.append(("IP-literal link", 2))
    if "xn--" in host or any(ord(c) > 127 for c in host):
        out.append(("punycode/non-ASCII host", 2))
    if host in SHORTENERS:
        out.append(("link shortener", 1))
    labels = host.split(".")
    tokens = {t for label in labels[:-1] for t in re.split(r"[-_]", label) if t}
    for domain in protected:
        brand = _brand(domain)
        if len(brand) < 4:
            continue
        body = labels[:-1]
        if brand in tokens or any(brand in label and label != brand for label in body):
            out.append((f"brand '{brand}' inside another domain", 3))
            break
        shape = _skeleton(brand)
        if any(_close(_skeleton(label), shape) or _close(label, brand) for label in body if label != brand):
            out.append((f"look-alike of '{brand}'", 3))
            break
    if tokens & _SECURITY_WORDS:
        out.append(("security word in the link's domain", 2))
    return tuple(out)


def hosts_of(text: str) -> list[tuple[str, str]]:
    """(host, path and query) of each link in ``text``; hosts normalised to NFKC lower case."""
    found = []
    for url in _URL.findall(text):
        m = _HOST.match(url)
        if m:
            found.append((unicodedata.normalize("NFKC", m.group(1)).lower(), url[m.end() :]))
    return found


_PAYMENT_CORE = frozenset({"advance-fee story", "promised returns", "irreversible payment", "fee to release funds"})


def score(text: str, protected: Iterable[str]) -> Signs:
    """The signs of one message. Phishing signs count only with a link (no link, nothing to
    phish with)."""
    phishing: list[str] = []
    payment: list[str] = []
    lure = money = 0
    links = hosts_of(text)
    for name, weight, family, pattern in _TEXT_SIGNS:
        if pattern.search(text):
            if family in ("phishing", "both"):
                phishing.append(name)
                lure += weight
            if family in ("payment", "both"):
                payment.append(name)
                money += weight
    key = tuple(sorted(protected))
    link_signs: list[str] = []
    link = 0
    for host, rest in links:
        if _is_protected(host, key):
            continue  # the platform's own or a known brand's page: its paths are its own business
        for name, weight in host_signs(host, key):
            if name not in link_signs:
                link_signs.append(name)
                link += weight
        if _LURE_PATH.search(rest) and "credential-page path" not in link_signs:
            link_signs.append("credential-page path")
            link += 1
    if not links:
        phishing, lure = [], 0
    core = bool(_PAYMENT_CORE.intersection(payment))
    return Signs(tuple(phishing + link_signs), tuple(payment), lure, link, money, core, tuple(h for h, _ in links))


_NORMALISE = (
    (re.compile(r"(?i)\b(?:https?://|www\.)\S+"), "<link>"),
    (re.compile(r"\b[0-9a-f]{6,}\b|\b\w*\d\w*\b"), "#"),
    (re.compile(r"\s+"), " "),
)


def template(text: str) -> str:
    """The message with its per-recipient parts (tokens, numbers, links) blanked: messages of one
    campaign share it even when every copy carries its own tracking token or a rotated domain."""
    out = text.lower()
    for pattern, repl in _NORMALISE:
        out = pattern.sub(repl, out)
    return out.strip()
