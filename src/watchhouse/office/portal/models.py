"""What a report from the public is, in the office's terms.

Categories are plain words a member of the public recognises; each maps to exactly one code of
the fixed taxonomy (``core.taxonomy``). There is deliberately no category for lawful speech
("offensive", "misinformation", ...): the portal only takes reports of recognised offences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from watchhouse.core.taxonomy import CrimeCode


class ReporterRole(StrEnum):
    VICTIM = "victim"
    WITNESS = "witness"
    ON_BEHALF = "on_behalf"
    TRUSTED_FLAGGER = "trusted_flagger"


ROLE_LABELS: dict[ReporterRole, str] = {
    ReporterRole.VICTIM: "It happened to me",
    ReporterRole.WITNESS: "I saw it happen to someone else",
    ReporterRole.ON_BEHALF: "I am reporting for someone who cannot (a relative, a client)",
    ReporterRole.TRUSTED_FLAGGER: "I report as a trusted flagger organisation",
}


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    crime: CrimeCode


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category(
            "scam",
            "I was tricked into paying or sending money (a scam, fake shop, investment fraud)",
            CrimeCode.COMPUTER_FRAUD,
        ),
        Category("phishing", "Someone tried to steal my password or card details (phishing)", CrimeCode.COMPUTER_FRAUD),
        Category(
            "account_takeover", "Someone broke into my account or another computer system", CrimeCode.ILLEGAL_ACCESS
        ),
        Category(
            "impersonation",
            "Someone used forged documents or pretended to be an official body",
            CrimeCode.COMPUTER_FORGERY,
        ),
        Category(
            "data_damage",
            "Someone deleted, encrypted or altered my data (ransomware, sabotage)",
            CrimeCode.DATA_INTERFERENCE,
        ),
        Category(
            "service_attack",
            "Someone is knocking a site or service offline (denial of service)",
            CrimeCode.SYSTEM_INTERFERENCE,
        ),
        Category(
            "interception",
            "Someone is secretly reading or recording my private communications",
            CrimeCode.ILLEGAL_INTERCEPTION,
        ),
        Category(
            "malware",
            "Someone sells or spreads hacking tools, malware or stolen passwords",
            CrimeCode.MISUSE_OF_DEVICES,
        ),
        Category("child_abuse", "Sexual abuse material involving a child", CrimeCode.CHILD_SEXUAL_ABUSE_MATERIAL),
        Category("piracy", "Large-scale commercial piracy of copyrighted works", CrimeCode.COPYRIGHT_INFRINGEMENT),
        Category("weapons", "Illegal sale of weapons or ammunition", CrimeCode.ILLEGAL_TRADE_WEAPONS),
        Category("drugs", "Illegal sale of drugs", CrimeCode.ILLEGAL_TRADE_DRUGS),
        Category("terrorism", "Terrorist content (propaganda, instructions for attacks)", CrimeCode.TERRORIST_CONTENT),
    )
}
RESTRICTED_CRIMES = frozenset({CrimeCode.CHILD_SEXUAL_ABUSE_MATERIAL})
"""Reports under these codes go to the restricted, need-to-know queue and are handled by hash."""


class ReportStatus(StrEnum):
    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    ACTION_TAKEN = "action_taken"
    REFERRED = "referred"
    NO_ACTION = "no_action"
    INVALIDATED = "invalidated"


class Outcome(StrEnum):
    """What a decision can be; each is also the report's status afterwards."""

    ACTION_TAKEN = "action_taken"
    REFERRED = "referred"
    NO_ACTION = "no_action"


STATUS_LABELS: dict[str, str] = {
    "received": "Received: waiting for the office",
    "under_review": "Under review by the office",
    "action_taken": "Action taken",
    "referred": "Referred to the authorities",
    "no_action": "No action",
    "invalidated": "Closed: not accepted",
}


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    HOST = "host"
    ACCOUNT = "account"
    IBAN = "iban"
    BANK_ACCOUNT = "bank_account"
    WALLET = "wallet"
    SHA256 = "sha256"
    """An attachment's hash: the same screenshot from two victims links their reports."""


@dataclass(frozen=True)
class Money:
    amount: str
    """Decimal text as given (normalised), never a float: amounts are summed as exact decimals."""
    currency: str
    method: str
    paid_on: str | None


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    phone: str

    def is_empty(self) -> bool:
        return not (self.name or self.email or self.phone)


@dataclass(frozen=True)
class Upload:
    """An attachment after scanning: its bytes, a safe name and the sniffed media type."""

    name: str
    media_type: str
    data: bytes


@dataclass(frozen=True, kw_only=True)
class ReportDraft:
    """A validated submission, ready to be stored (the web layer builds it from the form)."""

    role: ReporterRole
    category: str
    narrative: str
    occurred: str | None
    locations: tuple[str, ...]
    identifiers: tuple[tuple[IdentifierKind, str], ...]
    money: Money | None
    contact: Contact | None
    consent: bool
    urgent: bool
    bona_fide: bool
    uploads: tuple[Upload, ...] = field(default=())


@dataclass(frozen=True)
class Receipt:
    reference: str
    secret: str
    """Shown once; the office keeps only its hash."""


@dataclass(frozen=True, kw_only=True)
class Report:
    reference: str
    status: ReportStatus
    category: str
    crime_code: CrimeCode
    role: ReporterRole
    urgent: bool
    restricted: bool
    narrative: str
    occurred: str | None
    locations: tuple[str, ...]
    money: Money | None
    has_contact: bool
    reporter: str | None
    """Pseudonym of the reporter's contact (keyed HMAC), so the office can group without knowing who."""
    client: str
    """Pseudonym of the submitting client address (keyed HMAC), for bad-faith invalidation."""
    received_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class Attachment:
    evidence_id: str
    sha256: str
    size: int
    media_type: str
    name: str


@dataclass(frozen=True, kw_only=True)
class Decision:
    id: int
    reference: str
    outcome: Outcome
    reasons: str
    public_reasons: str
    decided_by: str
    decided_at: datetime
    appeal_of: int | None = None


@dataclass(frozen=True, kw_only=True)
class Appeal:
    id: int
    reference: str
    decision_id: int
    text: str
    filed_at: datetime
    status: str
    reviewed_by: str | None
    review_reasons: str | None


@dataclass(frozen=True, kw_only=True)
class ReportEvent:
    at: datetime
    actor: str
    kind: str
    new_status: str | None
    body: str | None


@dataclass(frozen=True, kw_only=True)
class ReporterView:
    """What the reporter sees on the status page: no office-internal reasons, no other reports."""

    reference: str
    status: ReportStatus
    status_label: str
    category_label: str
    received_at: datetime
    decisions: tuple[Decision, ...]
    appeals: tuple[Appeal, ...]
    additions: int
    may_appeal: bool

    def public(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "status": self.status.value,
            "decisions": [{"outcome": d.outcome.value, "reasons": d.public_reasons} for d in self.decisions],
        }


@dataclass(frozen=True, kw_only=True)
class ReportFile:
    """One report as the office sees it (contact pseudonymised; restricted content withheld)."""

    report: Report
    identifiers: tuple[tuple[str, str], ...]
    attachments: tuple[Attachment, ...]
    events: tuple[ReportEvent, ...]
    decisions: tuple[Decision, ...]
    appeals: tuple[Appeal, ...]
    links: tuple[tuple[str, str], ...]
    content_withheld: bool
    campaign: str | None
