"""Reading the public form into a :class:`ReportDraft`, collecting every problem at once.

All input is hostile until checked: lengths are capped, control characters refused, every
identifier normalised by its kind's validator (``office.portal.normalise``) and every file
scanned (``office.portal.uploads``). Errors are keyed by field so the form can show each message
next to its field and in a summary at the top, as accessibility guidance asks.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from watchhouse.core.errors import UsageError
from watchhouse.office.portal.models import (
    CATEGORIES,
    Contact,
    IdentifierKind,
    Money,
    ReportDraft,
    ReporterRole,
    Upload,
)
from watchhouse.office.portal.normalise import canonical_url, host_of, normalise, normalise_email, normalise_phone
from watchhouse.office.portal.uploads import UploadPolicy, scan

_CURRENCY_TEXT = (
    "AED ARS AUD BDT BGN BRL CAD CHF CLP CNY COP CZK DKK EGP EUR GBP GHS HKD HUF IDR ILS INR ISK JPY KES KRW "
    "MAD MXN MYR NGN NOK NZD PEN PHP PKR PLN QAR RON RSD SAR SEK SGD THB TRY TWD UAH USD VND ZAR"
)
CURRENCIES = frozenset(_CURRENCY_TEXT.split(" "))
"""ISO 4217 codes of currencies in active use (plus room to add): an unknown code is refused."""
METHODS = {
    "bank_transfer": "Bank transfer",
    "card": "Debit or credit card",
    "crypto": "Cryptocurrency",
    "gift_card": "Gift cards or vouchers",
    "money_service": "Money transfer service",
    "cash": "Cash",
    "other": "Other",
}
IDENTIFIER_FIELDS: dict[str, tuple[str, str]] = {
    "accounts": ("Their accounts on the platform (user names or profile ids)", "account"),
    "urls": ("Web addresses they used (shops, messages, payment pages)", "url"),
    "emails": ("E-mail addresses they used", "email"),
    "phones": ("Phone numbers they used", "phone"),
    "wallets": ("Cryptocurrency wallets you paid to", "wallet"),
    "banks": ("Bank accounts you paid to (IBAN or account number)", "bank"),
}
_OBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_./-]{0,99}$")
MAX_NARRATIVE = 10_000
MAX_LINES = 20


@dataclass
class Parsed:
    draft: ReportDraft | None
    errors: dict[str, str] = field(default_factory=dict)


def clean_text(value: str, limit: int, name: str, errors: dict[str, str], multiline: bool = False) -> str:
    """Trimmed text without control characters (tabs and newlines only where lines make sense)."""
    if len(value) > limit:
        errors[name] = f"This is too long: at most {limit} characters (you sent {len(value)})."
        return ""
    allowed = "\n\r\t" if multiline else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value) or "\ufffd" in value:
        errors[name] = "This contains characters that cannot be read (control characters or broken encoding)."
        return ""
    return value.strip()


def _lines(value: str, name: str, errors: dict[str, str]) -> list[str]:
    text = clean_text(value, 5000, name, errors, multiline=True)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        errors[name] = f"At most {MAX_LINES} entries, one per line."
        return []
    return lines


def _identifiers(form: dict[str, str], errors: dict[str, str]) -> list[tuple[IdentifierKind, str]]:
    out: list[tuple[IdentifierKind, str]] = []
    for name, (_, kind) in IDENTIFIER_FIELDS.items():
        for line in _lines(form.get(name, ""), name, errors):
            try:
                if kind == "bank":
                    compact = re.sub(r"\s", "", line)
                    iban_like = compact[:2].isalpha() and compact[2:4].isdigit()
                    k = IdentifierKind.IBAN if iban_like else IdentifierKind.BANK_ACCOUNT
                    out.append((k, normalise(k, line)))
                elif kind == "url":
                    url = canonical_url(line)
                    out += [(IdentifierKind.URL, url), (IdentifierKind.HOST, host_of(url))]
                else:
                    k = IdentifierKind(kind)
                    out.append((k, normalise(k, line)))
            except UsageError as exc:
                errors[name] = f"{exc}. Put one per line."
    return out


def _locations(form: dict[str, str], errors: dict[str, str]) -> list[str]:
    out = []
    for line in _lines(form.get("locations", ""), "locations", errors):
        if "://" in line or line.lower().startswith("www."):
            try:
                out.append(canonical_url(line))
            except UsageError as exc:
                errors["locations"] = f"{exc}."
        elif _OBJECT_ID.match(line):
            out.append(line)
        else:
            errors["locations"] = (
                f"{line[:60]!r} is neither a web address nor a platform id (letters, digits, : _ . / -)."
            )
    return out


def _date(value: str, name: str, errors: dict[str, str]) -> str | None:
    text = value.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        errors[name] = "Give the date as year-month-day, e.g. 2026-03-01."
        return None
    if day > date.today() or day.year < 1990:
        errors[name] = "The date must be in the past."
        return None
    return text[:16] if len(text) > 10 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text[:16]) else day.isoformat()


def _money(form: dict[str, str], errors: dict[str, str]) -> Money | None:
    amount = form.get("amount", "").strip().replace(",", "")
    if not amount:
        return None
    try:
        value = Decimal(amount)
    except InvalidOperation:
        errors["amount"] = "Give the amount as a number, e.g. 250 or 99.90."
        return None
    if not value.is_finite() or value <= 0 or value >= Decimal("1e12") or -value.as_tuple().exponent > 2:  # type: ignore[operator]
        errors["amount"] = "The amount must be above 0, below a trillion, with at most two decimals."
        return None
    currency = form.get("currency", "").strip().upper()
    if currency not in CURRENCIES:
        errors["currency"] = "Choose the currency (ISO code such as EUR, USD, GBP)."
    method = form.get("method", "")
    if method not in METHODS:
        errors["method"] = "Choose how you paid."
    return Money(str(value), currency, method, _date(form.get("paid_on", ""), "paid_on", errors))


def _contact(form: dict[str, str], errors: dict[str, str]) -> Contact | None:
    name = clean_text(form.get("contact_name", ""), 200, "contact_name", errors)
    email = form.get("contact_email", "").strip()
    phone = form.get("contact_phone", "").strip()
    try:
        email = normalise_email(email) if email else ""
    except UsageError:
        errors["contact_email"] = "This is not an e-mail address (name@example.org)."
    try:
        phone = normalise_phone(phone) if phone else ""
    except UsageError:
        errors["contact_phone"] = "This is not a phone number (digits, optionally starting with +)."
    contact = Contact(name, email, phone)
    return None if contact.is_empty() else contact


def parse(form: dict[str, str], files: list[tuple[str, bytes]], policy: UploadPolicy) -> Parsed:
    errors: dict[str, str] = {}
    role = form.get("role", "")
    if role not in {r.value for r in ReporterRole}:
        errors["role"] = "Say who you are in this report."
    category = form.get("category", "")
    if category not in CATEGORIES:
        errors["category"] = "Choose what happened."
    narrative = clean_text(form.get("narrative", ""), MAX_NARRATIVE, "narrative", errors, multiline=True)
    if "narrative" not in errors and len(narrative) < 10:
        errors["narrative"] = "Tell us what happened, in a few sentences at least."
    occurred = _date(form.get("occurred", ""), "occurred", errors)
    locations = _locations(form, errors)
    identifiers = _identifiers(form, errors)
    money = _money(form, errors)
    contact = _contact(form, errors)
    consent = form.get("consent") == "yes"
    if contact is not None and not consent:
        errors["consent"] = "Tick the box to let us contact you, or leave the contact fields empty."
    if role == ReporterRole.TRUSTED_FLAGGER and (contact is None or not contact.name):
        errors["contact_name"] = "Trusted flaggers give the name of their organisation."
    bona_fide = form.get("bona_fide") == "yes"
    if not bona_fide:
        errors["bona_fide"] = "Confirm that you report in good faith."
    uploads: tuple[Upload, ...] = ()
    try:
        uploads = scan([f for f in files if f[0] or f[1]], policy)
    except UsageError as exc:
        errors["attachments"] = str(exc)
    if errors:
        return Parsed(None, errors)
    draft = ReportDraft(
        role=ReporterRole(role),
        category=category,
        narrative=narrative,
        occurred=occurred,
        locations=tuple(locations),
        identifiers=tuple(sorted(set(identifiers))),
        money=money,
        contact=contact,
        consent=consent,
        urgent=form.get("urgent") == "yes",
        bona_fide=bona_fide,
        uploads=uploads,
    )
    return Parsed(draft, {})
