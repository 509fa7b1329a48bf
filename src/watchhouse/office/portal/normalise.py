"""Normalised counterpart identifiers: the keys that group many victims' reports into one campaign.

Each kind has one canonical text so that the same scammer typed differently by two victims
("Bob@Example.COM " and "bob@example.com", "+44 20 7946 0000" and "0044207946000",
"GB29 NWBK 6016 1331 9268 19" and "gb29nwbk60161331926819") is one key. Values that cannot be
what their kind says (an e-mail without ``@``) are refused with a message, not silently stored.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from watchhouse.core.digits import ascii_digits
from watchhouse.core.errors import UsageError
from watchhouse.office.portal.models import IdentifierKind

_EMAIL = re.compile(r"^[^@\s]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,63}$")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_WALLET = re.compile(r"^[A-Za-z0-9]{20,100}$")
_ACCOUNT = re.compile(r"^[\w.@-]{1,100}$")
_HOST = re.compile(r"^[a-z0-9.-]{1,253}$")
_TRACKING = ("utm_", "fbclid", "gclid", "mc_", "ref")


def iban_valid(iban: str) -> bool:
    """ISO 13616 check digits (mod 97 == 1): a strong validator behind the weak pattern."""
    moved = iban[4:] + iban[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


def normalise_email(value: str) -> str:
    text = value.strip().lower()
    if not _EMAIL.match(text):
        raise UsageError(f"{value[:80]!r} is not an e-mail address")
    return text


def normalise_phone(value: str) -> str:
    """E.164-like: ``+`` and digits; ``00`` becomes ``+``. National numbers keep their digits."""
    text = re.sub(r"[\s().-]", "", value.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = text[1:] if text.startswith("+") else text
    if not ascii_digits(digits) or not 6 <= len(digits) <= 15:
        raise UsageError(f"{value[:80]!r} is not a phone number (6 to 15 digits, optionally starting with +)")
    return text


def canonical_url(value: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters."""
    text = value.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError(f"{value[:80]!r} is not a web address") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host or not _HOST.match(host.encode("idna").decode("ascii")):
        raise UsageError(f"{value[:80]!r} is not a web address (http or https with a host name)")
    netloc = host if port in (None, 80 if scheme == "http" else 443) else f"{host}:{port}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(_TRACKING)))
    path = parts.path.rstrip("/") or ""
    return urlunsplit((scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host[4:] if host.startswith("www.") else host


def normalise_iban(value: str) -> str:
    text = re.sub(r"\s", "", value).upper()
    if not _IBAN.match(text) or not iban_valid(text):
        raise UsageError(f"{value[:80]!r} is not a valid IBAN (check digits do not match)")
    return text


def normalise(kind: IdentifierKind, value: str) -> str:
    """One identifier's canonical text, or a :class:`UsageError` that says what is wrong."""
    if kind is IdentifierKind.EMAIL:
        return normalise_email(value)
    if kind is IdentifierKind.PHONE:
        return normalise_phone(value)
    if kind is IdentifierKind.URL:
        return canonical_url(value)
    if kind is IdentifierKind.HOST:
        return host_of(canonical_url(value))
    if kind is IdentifierKind.IBAN:
        return normalise_iban(value)
    if kind is IdentifierKind.BANK_ACCOUNT:
        text = re.sub(r"[\s-]", "", value)
        if not text.isalnum() or not 4 <= len(text) <= 34:
            raise UsageError(f"{value[:80]!r} is not a bank account number")
        return text.upper()
    if kind is IdentifierKind.WALLET:
        text = value.strip()
        if not _WALLET.match(text):
            raise UsageError(f"{value[:80]!r} is not a cryptocurrency wallet address")
        return text.lower() if text.lower().startswith(("0x", "bc1")) else text
    if kind is IdentifierKind.ACCOUNT:
        text = value.strip().lstrip("@").lower()
        if not _ACCOUNT.match(text):
            raise UsageError(f"{value[:80]!r} is not an account name (letters, digits, . _ - @)")
        return text
    if kind is IdentifierKind.SHA256:
        text = value.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", text):
            raise UsageError("not a SHA-256 digest")
        return text
    raise UsageError(f"unknown identifier kind {kind!r}")
